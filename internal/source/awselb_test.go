package source

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/awselb/elbtest"
)

// The aws-elb source runs against elbtest, the stand-in written from the
// documented ELBv2 Query API: no AWS account in CI.
func TestAWSELBSource(t *testing.T) {
	s := elbtest.New("us-east-1", "AKIAIOSFODNN7EXAMPLE", "src-secret-0123456789")
	defer s.Close()
	s.DeregistrationDelay = 2 * time.Second // long enough to read draining on a loaded machine
	s.AddGroup(s.ARN("web"), 80, elbtest.Registration{ID: "i-0abc1234def567890"})
	t.Setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", s.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "src-secret-0123456789")
	open := func(target string) Source {
		t.Helper()
		spec, err := ParseSpec("aws-elb:" + s.ARN("web") + "#" + target)
		if err != nil {
			t.Fatal(err)
		}
		src, err := New(spec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	src := open("i-0abc1234def567890")
	ctx := context.Background()
	if v, err := src.Read(ctx); err != nil || v != 1 {
		t.Fatalf("registered: %v %v, want 1", v, err)
	}
	s.Set(s.ARN("web"), "i-0abc1234def567890", "draining")
	if v, err := src.Read(ctx); err != nil || v != 1 {
		t.Fatalf("draining: %v %v, want 1", v, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := src.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still 1 after the deregistration delay")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, err := open("i-0abc1234def567899").Read(ctx); err == nil || !strings.Contains(err.Error(), "InvalidTarget") {
		t.Fatalf("invalid target read %v %v, want an error, not 0", v, err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if v, err := open("i-0abc1234def567890").Read(ctx); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("refused credentials read %v %v", v, err)
	}
	s.Close()
	if v, err := src.Read(ctx); err == nil {
		t.Fatalf("unreachable API read %v, want unknown", v)
	}
}
