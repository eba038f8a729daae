//go:build !windows

package action

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestBuiltinsOnlyOnWindows(t *testing.T) {
	_, err := New([]string{"stop-service", "W3SVC"}, false, 0)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "stop-service is a Windows built-in") {
		t.Errorf("err = %v", err)
	}
	// With --shell the words are a command line, not a built-in.
	if _, err := New([]string{"stop-service", "x"}, true, 0); err != nil {
		t.Errorf("shell: err = %v", err)
	}
}

func TestRegisterBuiltinRefusesDuplicates(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "registered twice: "+StopService) {
			t.Errorf("registering %s twice: recover() = %v", StopService, r)
		}
	}()
	RegisterBuiltin(Builtin{Name: StopService, Arg: "SERVICE"})
}
