package rotation

import "testing"

// LiftWindows lets the ARR and NLB types run here against the stand-in
// powershell (winpstest) for the conformance suite (package rotation_test),
// as liftWindows does for this package's tests.
func LiftWindows(t *testing.T) { liftWindows(t) }
