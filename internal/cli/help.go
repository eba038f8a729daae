package cli

import (
	"strings"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/rotation"
)

// Help text that names plug-in types is made from their registries, so
// that it names every type there is (TestHelpNamesEveryType).

// rotationTypeList is "apache, arr, aws-elb, ...": the rotation methods.
func rotationTypeList() string { return strings.Join(rotation.TypeNames(), ", ") }

// builtinList is "iisreset-stop, recycle-apppool POOL, ...": the built-in
// actions as they are written.
func builtinList() string { return action.BuiltinHelp() }

// builtinTable is one line per built-in action: how it is written, what it
// does, where it runs.
func builtinTable() string {
	var b strings.Builder
	for _, bt := range action.BuiltinTypes() {
		b.WriteString("  " + bt.Usage())
		if bt.OS != "" {
			b.WriteString(" (" + osName(bt.OS) + ")")
		}
		b.WriteString(": " + bt.Summary + "\n")
	}
	return b.String()
}

func osName(goos string) string {
	switch goos {
	case "windows":
		return "Windows"
	case "darwin":
		return "macOS"
	case "linux":
		return "Linux"
	}
	return goos
}

// noRotationHint is the hint of a drain command given no rotation method.
func noRotationHint() string {
	return "set --rotate TYPE:TARGET (types: " + rotationTypeList() + ") or a shorthand, --keepalive PATH or --haproxy ADDR#BACKEND/SERVER"
}
