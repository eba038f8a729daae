package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// MachineDirEnv names a variable that replaces the machine-wide state
// directory. It exists for tests (which must not write to /var/lib/drain or
// %ProgramData%); it is not a setting: use --state-dir.
const MachineDirEnv = "DRAIN_MACHINE_STATE_DIR"

// MachineDir is the state directory shared by every account on this machine:
// %ProgramData%\drain on Windows, /Library/Application Support/drain on
// macOS, /var/lib/drain elsewhere.
func MachineDir() string {
	if d := os.Getenv(MachineDirEnv); d != "" {
		return d
	}
	switch runtime.GOOS {
	case "windows":
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, "drain")
	case "darwin":
		return "/Library/Application Support/drain"
	}
	return "/var/lib/drain"
}

// UserDir is the per-user state directory for this OS:
// $XDG_STATE_HOME/drain or ~/.local/state/drain on Unix,
// %LOCALAPPDATA%\drain on Windows, ~/Library/Application Support/drain on
// macOS. Older drains kept every record there.
func UserDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "drain"), nil
		}
	case "darwin":
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, "Library", "Application Support", "drain"), nil
		}
	default:
		if d := os.Getenv("XDG_STATE_HOME"); d != "" {
			return filepath.Join(d, "drain"), nil
		}
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "state", "drain"), nil
		}
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w (set --state-dir)", err)
	}
	return filepath.Join(d, "drain", "state"), nil
}

// UnsafeDirError says the machine-wide directory exists but could have been
// made by someone who is not an administrator, so its records (which say
// which files to rename back) cannot be trusted.
type UnsafeDirError struct {
	Dir, Why, Fix string
}

func (e *UnsafeDirError) Error() string {
	return fmt.Sprintf("state directory %s %s", e.Dir, e.Why)
}

// Hint says how to fix it.
func (e *UnsafeDirError) Hint() string { return e.Fix }

// DefaultStore is where records and locks live when no --state-dir is given.
//
// An administrator (root, an elevated Administrator, SYSTEM) uses the
// machine-wide directory, creating it if needed, so that every account that
// drains this server sees the same records and takes the same lock. Another
// account uses it too when an administrator has made it writable for that
// account; otherwise it keeps its per-user directory, as before.
//
// Records an older drain left in this account's per-user directory (and, for
// an administrator on Windows, in the profiles of the built-in service
// accounts pipeline agents run as) are still found, undone and removed.
func DefaultStore() (Store, error) {
	user, uerr := UserDir()
	machine := MachineDir()
	admin := isAdmin()
	usable, err := checkMachineDir(machine, admin)
	if err != nil {
		return Store{}, err
	}
	if !admin && !usable {
		return Store{Dir: user}, uerr
	}
	s := Store{Dir: machine, Machine: true}
	old := []string{}
	if uerr == nil {
		old = append(old, user)
	}
	if admin {
		old = append(old, serviceAccountDirs()...)
	}
	for _, d := range old {
		if filepath.Clean(d) != filepath.Clean(machine) {
			s.Old = append(s.Old, d)
		}
	}
	return s, nil
}

// checkMachineDir says whether dir can be used (it exists and this account
// may write it, or it is missing and this account is an administrator, who
// will create it), and refuses a directory that a plain user could have made.
func checkMachineDir(dir string, admin bool) (bool, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return admin, nil
	}
	if err != nil {
		return false, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return false, &UnsafeDirError{Dir: dir, Why: "is not a directory", Fix: "remove it, or set --state-dir"}
	}
	if err := trustedDir(dir, fi); err != nil {
		return false, err
	}
	return writable(dir), nil
}

// writable reports whether this account may create files in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return false
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return true
}
