package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/source"
)

// failingLister is a source that counts requests but cannot list them (IIS
// without the Request Monitor feature).
type failingLister struct{}

func (failingLister) Read(context.Context) (float64, error) { return 1, nil }
func (failingLister) Requests(context.Context) ([]source.Request, error) {
	return nil, errors.New("appcmd: the Request Monitor feature is not installed")
}

// drain status lists the requests of every source that can list them, and
// says why when it cannot.
func TestStatusRequestsOfAListingSource(t *testing.T) {
	ios, out, _ := iostreams.Test()
	plan := &drain.Plan{Sources: []drain.Watch{{Name: "iis:Shop", Source: failingLister{}}}}
	printStatus(ios, collectStatus(context.Background(), plan))
	if !strings.Contains(out.String(), "executing requests: unknown (appcmd: the Request Monitor feature is not installed)") {
		t.Errorf("status = %q", out.String())
	}
}
