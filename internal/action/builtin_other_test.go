//go:build !windows

package action

import (
	"errors"
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
