package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium. Without one the test skips,
// unless DRAIN_E2E=require (scripts/test.sh installs Debian's chromium and
// sets it), where a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("DRAIN_E2E") == "require" {
		t.Fatal("chromium not found and DRAIN_E2E=require: install it (apt-get install chromium)")
	}
	t.Skip("chromium not installed; scripts/test.sh installs it and sets DRAIN_E2E=require")
	return ""
}

// screenshot opens file in headless Chromium and returns the screenshot.
func screenshot(t *testing.T, browser, file string) image.Image {
	t.Helper()
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1000,700",
		"file://"+file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out.String())
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ink counts the pixels that are not (nearly) white, and those of the
// value line's blue (#1d4ed8) and of red (the threshold #dc2626, busy
// points).
func ink(img image.Image) (dark, blue, red int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 240 || g < 240 || bl < 240 {
				dark++
			}
			if near8(r, 0x1d) && near8(g, 0x4e) && near8(bl, 0xd8) {
				blue++
			}
			if r > 170 && g < 110 && bl < 110 { // the threshold, the busy points, the title of a failed run
				red++
			}
		}
	}
	return dark, blue, red
}

func near8(a, b uint32) bool { return a+24 >= b && b+24 >= a }

// TestBrowserRendersThePicture opens the SVG and the HTML page in a real
// browser: a picture that parses but draws nothing (a wrong namespace, a
// broken viewBox, a path outside the canvas) would pass an XML check only.
func TestBrowserRendersThePicture(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()

	// The check itself must tell a blank page from a drawing.
	blank := filepath.Join(dir, "blank.svg")
	if err := os.WriteFile(blank, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="960" height="500"><rect width="100%" height="100%" fill="#fff"/><title>drained</title></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if dark, blue, _ := ink(screenshot(t, browser, blank)); dark > 100 || blue > 0 {
		t.Fatalf("a blank picture counts %d dark and %d blue pixels: the check cannot fail", dark, blue)
	}

	r := load(t, "flap.ndjson", Options{})
	for _, name := range []string{"flap.svg", "flap.html"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name)
			if err := WriteFile(file, r); err != nil {
				t.Fatal(err)
			}
			img := screenshot(t, browser, file)
			total := img.Bounds().Dx() * img.Bounds().Dy()
			dark, blue, red := ink(img)
			t.Logf("%s: %d of %d pixels drawn, %d blue, %d red", name, dark, total, blue, red)
			if dark < total/50 {
				t.Errorf("only %d of %d pixels are not white: the picture looks blank", dark, total)
			}
			if blue < 300 || red < 100 {
				t.Errorf("%d pixels of the value line, %d of the threshold: the plot is not drawn", blue, red)
			}
		})
	}
}
