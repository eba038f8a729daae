package iostreams

import (
	"os"

	"github.com/mattn/go-isatty"
	"golang.org/x/sys/windows"
)

// enableVT turns on virtual-terminal processing for f's console, so that
// cursor movement and colour escapes work (Windows 10 1511 and later). It
// is per console buffer: fatih/color turns it on for stdout only, and stdout
// may be redirected while stderr is the console. A Cygwin/MSYS pty (mintty)
// takes the sequences as they are; anything else that is no console
// cannot.
func enableVT(f *os.File) bool {
	if isatty.IsCygwinTerminal(f.Fd()) {
		return true
	}
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return false
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_PROCESSED_OUTPUT|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
