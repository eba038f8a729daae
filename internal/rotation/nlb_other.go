//go:build !windows

package rotation

import (
	"context"
	"errors"

	"github.com/drain-cli/drain/internal/winps"
)

// Elsewhere than Windows there is no WMI: newNLB refuses before it gets
// here (nlbNeedsWindows), and this answers tests that lift that check.
type noWMI struct{}

func newNLBLocal() nlbLocal { return noWMI{} }

var errNoWMI = errors.New("WMI root\\MicrosoftNLB: there is no WMI on this system")

func (noWMI) nodes(context.Context) ([]winps.NLBNode, string, error) { return nil, "", errNoWMI }
func (noWMI) call(context.Context, string, string) (uint32, error)   { return 0, errNoWMI }
