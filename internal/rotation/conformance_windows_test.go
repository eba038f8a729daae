package rotation_test

// Real HAProxy, Apache and nginx have no Windows build here: their lines
// of the conformance suite run on Linux (conformance_unix_test.go).
var serverHarnesses, pendingHarnesses []harness

var notInSuite = map[string]string{
	"haproxy":        "a real HAProxy runs on Linux only (conformance_unix_test.go)",
	"apache":         "a real Apache runs on Linux only (conformance_unix_test.go)",
	"nginx-upstream": "a real nginx runs on Linux only",
}
