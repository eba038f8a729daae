// Command cp is the one tool besides drain in drain's FROM-scratch image:
// an initContainer runs it to copy drain into a volume the app container
// shares (scratch has no shell and no cp).
//
//	cp SRC... DIR     copy each SRC into DIR, executable (0755)
//	cp SRC DST        copy SRC to the file DST, executable
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: cp SRC... DIR | cp SRC DST")
		os.Exit(2)
	}
	srcs, dst := os.Args[1:len(os.Args)-1], os.Args[len(os.Args)-1]
	fi, err := os.Stat(dst)
	isDir := err == nil && fi.IsDir()
	if len(srcs) > 1 && !isDir {
		fmt.Fprintf(os.Stderr, "cp: %s is not a directory\n", dst)
		os.Exit(2)
	}
	for _, src := range srcs {
		to := dst
		if isDir {
			to = filepath.Join(dst, filepath.Base(src))
		}
		if err := copyFile(src, to); err != nil {
			fmt.Fprintln(os.Stderr, "cp:", err)
			os.Exit(1)
		}
		fmt.Printf("cp: %s -> %s\n", src, to)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	// A new file next to dst, renamed over it: a running copy of an older
	// dst is never overwritten in place.
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".cp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
