package iis

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/drain-cli/drain/internal/source"
)

// An iis:POOL source lists its pool's requests through appcmd (here the
// stand-in): the lister this package registers with the source package.
func TestIISSourceListsItsRequests(t *testing.T) {
	fixture, _ := filepath.Abs("testdata/appcmd_list_requests.xml")
	state := fake(t, fakeState{Requests: fixture})
	spec, err := source.ParseSpec("iis:Shop Pool")
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.New(spec, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := src.(source.RequestLister)
	if !ok {
		t.Fatalf("%T is not a source.RequestLister", src)
	}
	rs, err := l.Requests(context.Background())
	if err != nil || len(rs) != 17 || rs[0].Where != "Shop Pool" || rs[0].Elapsed != 4974.406 {
		t.Fatalf("rs=%v err=%v", rs, err)
	}
	if _, calls := state(); len(calls) != 1 || calls[0] != "list requests /apppool.name:Shop Pool /xml" {
		t.Errorf("calls = %q", calls)
	}
}
