package cli

import (
	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/f5"
	"github.com/drain-cli/drain/internal/state"
)

// ManEntry is one item of a man page's ENVIRONMENT or FILES section.
type ManEntry struct {
	Name string // the variable, or the path
	Text string // what it is
}

// Environment is every environment variable drain reads: one DRAIN_* per
// setting (config.Keys), the config file, the credentials that are never
// flags, the program paths tests replace, and the few that are not
// drain's. The man pages' ENVIRONMENT (scripts/gendocs) is made from it;
// TestEnvironmentNamesEveryVariable fails when the code reads a DRAIN_*
// that is not here.
func Environment() []ManEntry {
	out := []ManEntry{{"DRAIN_CONFIG", "the YAML config file, as --config FILE"}}
	for _, k := range config.Keys {
		text := "--" + k.Name
		if k.Kind == config.List {
			text += " (several: one per line)"
		}
		out = append(out, ManEntry{config.EnvName(k.Name), text})
	}
	return append(out,
		ManEntry{config.EnvBearerToken, "a bearer token sent to HTTP sources (never a flag: a command line is visible to every user)"},
		ManEntry{config.EnvBasicAuth, "user:password sent as basic auth to HTTP sources"},
		ManEntry{f5.EnvUser + ", " + f5.EnvPassword, "F5 iControl REST user and password (f5: rotation and source)"},
		ManEntry{f5.EnvToken, "an F5 iControl REST token, instead of a user and password"},
		ManEntry{f5.EnvFile, "a file of F5 credentials, KEY=VALUE lines: user, password or token"},
		ManEntry{"DRAIN_APACHE_USER, DRAIN_APACHE_PASSWORD", "basic auth for Apache's balancer-manager (apache: rotation, apache-balancer: source)"},
		ManEntry{"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE", "the AWS credentials chain of the aws-elb: rotation and source (then the shared files, then the instance's role)"},
		ManEntry{"NO_COLOR, CLICOLOR_FORCE", "no colours; colours even when not on a terminal"},
		ManEntry{"GITHUB_ACTIONS, TF_BUILD", "with --ci auto: GitHub Actions or Azure Pipelines output"},
		ManEntry{config.SystemFileEnv, "replaces the machine's config file path (for tests)"},
		ManEntry{state.MachineDirEnv, "replaces the machine-wide state directory (for tests; use --state-dir)"},
		ManEntry{"DRAIN_POWERSHELL, DRAIN_APPCMD, DRAIN_IISRESET", "Windows: the powershell.exe, appcmd.exe and iisreset.exe drain runs, instead of the ones under %SystemRoot% (for stand-ins in tests)"},
	)
}

// Files are the files and directories drain reads and writes, for the man
// pages' FILES section.
func Files() []ManEntry {
	return []ManEntry{
		{"/etc/drain/drain.yaml (Windows: %ProgramData%\\drain\\drain.yaml)", "the machine's config file, read when it exists; the user's config file (--config FILE, DRAIN_CONFIG) overrides it key by key, DRAIN_* variables and flags override both"},
		{"/var/lib/drain (Windows: %ProgramData%\\drain; macOS: /Library/Application Support/drain)", "the machine-wide state directory: records of what out changed (what in undoes) and the locks; used by administrators, and by other accounts an administrator lets write it"},
		{"$XDG_STATE_HOME/drain or ~/.local/state/drain (Windows: %LOCALAPPDATA%\\drain; macOS: ~/Library/Application Support/drain)", "the per-user state directory of other accounts; status and in also read the records older drains left there. --state-dir DIR replaces both"},
	}
}
