// Package proctree runs a command as a tree that can be ended whole: a
// process group on Unix, a job object on Windows. A shell's children, or a
// program's helpers, then go with it when it is stopped, instead of being
// left behind as orphans. The action (internal/action) and the exec source
// (internal/source) share it.
package proctree
