//go:build windows

package state

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// underWine: Wine maps security descriptors of files to Unix mode bits, so
// it accepts a DACL but does not keep it.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// TestMachineDirRights: the machine-wide directory is created with a
// protected DACL (nothing inherited from %ProgramData%, where Users may
// create files): SYSTEM and Administrators full control, Authenticated Users
// read only. A directory owned by a plain account is refused.
func TestMachineDirRights(t *testing.T) {
	sd, err := windows.SecurityDescriptorFromString(machineDirSDDL)
	if err != nil {
		t.Fatal(err)
	}
	// Read back from the binary descriptor: the SDDL means what we think.
	checkDACL(t, "descriptor", sd.String())

	dir := filepath.Join(t.TempDir(), "machine")
	if err := makeMachineDir(dir); err != nil {
		t.Fatal(err)
	}
	got, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION|windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if underWine() {
		t.Logf("under Wine the directory got %s (Wine keeps mode bits, not DACLs); its rights are checked on Windows only", got)
	} else {
		checkDACL(t, "created directory", got.String())
	}
	if err := trustedDir(dir, nil); err != nil {
		t.Errorf("the directory drain made is not trusted: %v", err)
	}

	// Owned by this account: fine for an administrator (who made it), not
	// for anyone else (a plain user could have made it first).
	owner, _, err := got.Owner()
	if err != nil {
		t.Fatal(err)
	}
	if owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) || owner.IsWellKnown(windows.WinLocalSystemSid) {
		t.Skipf("owner is %s: the plain-owner refusal needs a directory owned by a user", owner)
	}
	asAdmin(t, false)
	var ue *UnsafeDirError
	if err := trustedDir(dir, nil); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not Administrators or SYSTEM") {
		t.Errorf("directory owned by a plain account (%s): %v, want it refused", owner, err)
	}
}

func checkDACL(t *testing.T, what, sddl string) {
	t.Helper()
	i := strings.Index(sddl, "D:")
	if i < 0 {
		t.Fatalf("%s: no DACL in %s", what, sddl)
	}
	d := sddl[i:]
	for _, want := range []string{"D:P", "(A;OICI;FA;;;SY)", "(A;OICI;FA;;;BA)", "(A;OICI;0x1200a9;;;AU)"} {
		if !strings.Contains(d, want) {
			t.Errorf("%s: DACL %s lacks %s", what, d, want)
		}
	}
	if n := strings.Count(d, "("); n != 3 {
		t.Errorf("%s: DACL %s has %d entries, want 3", what, d, n)
	}
}
