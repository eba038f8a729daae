//go:build !windows

package auditlog

// Open returns no log outside Windows, and no warning.
func Open() (Log, string) { return nil, "" }
