package iostreams

import (
	"os"
	"testing"
)

// A pipe is no console: no live view is drawn into it.
func TestEnableVTRefusesAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if enableVT(w) {
		t.Error("enableVT said a pipe takes terminal sequences")
	}
}
