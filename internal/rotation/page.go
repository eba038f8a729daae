package rotation

import (
	"os"
	"path/filepath"
)

// tempBeside writes data to a new temporary file in path's directory (so a
// rename over path stays on one file system) and syncs it. The caller
// renames it over path or removes it.
func tempBeside(path string, data []byte) (*os.File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}
