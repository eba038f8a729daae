//go:build windows

package state

import (
	"errors"
	"os"
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

// TestServiceAccountRecordsAreFoundByAdministrators: a pipeline agent
// running as NETWORK SERVICE kept its records in its own profile; an
// administrator's drain finds them there. Run under Wine only: on a real
// Windows it would write into C:\Windows\ServiceProfiles.
func TestServiceAccountRecordsAreFoundByAdministrators(t *testing.T) {
	if !underWine() {
		t.Skip("writes into the Windows directory; runs under Wine only")
	}
	win, err := windows.GetSystemWindowsDirectory()
	if err != nil {
		t.Fatal(err)
	}
	profiles := filepath.Join(win, "ServiceProfiles")
	if _, err := os.Stat(profiles); err == nil {
		t.Skipf("%s exists in this Wine prefix; not touching it", profiles)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profiles) })
	agent := filepath.Join(profiles, "NetworkService", "AppData", "Local", "drain")
	if err := (Store{Dir: agent}).Save(&Record{Target: `C:\inetpub\wwwroot\keepalive.htm`, Reason: "agent", PID: 1}); err != nil {
		t.Fatal(err)
	}
	machineEnv(t)
	asAdmin(t, true)
	s, err := DefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	r, file, err := s.Find(`C:\inetpub\wwwroot\keepalive.htm`)
	if err != nil || r == nil || r.Reason != "agent" || !s.IsOld(file) {
		t.Fatalf("Find: %+v in %s, %v; want the agent's record, in an old dir (old dirs %v)", r, file, err, s.Old)
	}
	asAdmin(t, false)
	if s, _ := DefaultStore(); len(s.Old) != 0 {
		t.Errorf("a plain account reads %v; want none", s.Old)
	}
}

// TestMachineDirCreatedMeanwhile: a plain user may create the directory
// between drain's check and its CreateDirectory (ERROR_ALREADY_EXISTS):
// drain checks the owner of what is there, and refuses a user's.
func TestMachineDirCreatedMeanwhile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "machine")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		t.Fatal(err)
	}
	if owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) || owner.IsWellKnown(windows.WinLocalSystemSid) {
		t.Skipf("owner is %s: the refusal needs a directory owned by a user (this account is SYSTEM, or owner-default Administrators)", owner)
	}
	asAdmin(t, false)
	var ue *UnsafeDirError
	if err := makeMachineDir(dir); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not Administrators or SYSTEM") {
		t.Fatalf("a directory a plain user made first: %v, want it refused", err)
	}
}

// TestMachineDirOwner: the descriptor names its owner, Administrators, so
// that on SKUs where the creator would own it (an administrator's own
// account) a later run as SYSTEM or another administrator still trusts it.
func TestMachineDirOwner(t *testing.T) {
	sd, err := windows.SecurityDescriptorFromString(machineDirSDDL)
	if err != nil {
		t.Fatal(err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil || !owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
		t.Fatalf("owner in %s: %v %v, want BUILTIN\\Administrators", sd, owner, err)
	}
}
