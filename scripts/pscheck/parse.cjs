// Parse-checks PowerShell files with tree-sitter's PowerShell grammar (no
// PowerShell on Linux CI): prints each syntax error (an ERROR or MISSING
// node) and exits 1 if any. Usage: node parse.cjs FILE.ps1...
// Installed by scripts/test.sh (npm ci here); run by internal/e2e/powershell_test.go.
const { Parser, Language } = require('web-tree-sitter');
const fs = require('fs');
const path = require('path');
(async () => {
  await Parser.init();
  const lang = await Language.load(path.join(path.dirname(require.resolve('tree-sitter-powershell/package.json')), 'tree-sitter-powershell.wasm'));
  const parser = new Parser();
  parser.setLanguage(lang);
  let bad = 0;
  for (const f of process.argv.slice(2)) {
    const tree = parser.parse(fs.readFileSync(f, 'utf8'));
    const walk = (n) => {
      if (n.type === 'ERROR' || n.isMissing) {
        bad++;
        console.log(`${f}:${n.startPosition.row + 1}:${n.startPosition.column + 1}: syntax error near ${JSON.stringify(n.text.slice(0, 60))}`);
        return;
      }
      for (const c of n.children) walk(c);
    };
    walk(tree.rootNode);
    if (!tree.rootNode.hasError) console.log(`${f}: ok`);
  }
  process.exit(bad ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
