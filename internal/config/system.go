package config

import (
	"os"
	"path/filepath"
	"runtime"
)

// SystemFileEnv names a variable that replaces the machine's config file
// path. It exists for tests (which must not read /etc/drain/drain.yaml);
// it is not a setting: an administrator writes that file, a user --config.
const SystemFileEnv = "DRAIN_SYSTEM_CONFIG"

// DefaultSystemFile is the machine's config file, read when it exists:
// %ProgramData%\drain\drain.yaml on Windows, /etc/drain/drain.yaml
// elsewhere.
func DefaultSystemFile() string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, "drain", "drain.yaml")
	}
	return "/etc/drain/drain.yaml"
}

// SystemFile is the machine's config file for this environment: the
// SystemFileEnv override, or DefaultSystemFile.
func SystemFile(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(SystemFileEnv); p != "" {
		return p
	}
	return DefaultSystemFile()
}
