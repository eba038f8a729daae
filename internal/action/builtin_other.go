//go:build !windows

package action

// newStopService is never called off Windows: the registry refuses
// stop-service there (Builtin.OS) with WrongOS.
var newStopService BuiltinFunc
