package rotation

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPoolTargetsF5AndELB: the pool targets of the API methods (the method
// target without the member) list the pool from the vendors' stand-ins,
// mark no member as this machine's, and give each member the record key the
// method naming it has.
func TestPoolTargetsF5AndELB(t *testing.T) {
	f5s := newF5Stand(t)
	pv, err := NewPool("f5:"+f5s.URL+"#/Common/web_pool", Options{Client: f5s.Client(), Timeout: 5 * time.Second, Getenv: envMap("DRAIN_F5_USER", "admin", "DRAIN_F5_PASSWORD", f5Pass)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pv.Pool(context.Background())
	if err != nil || len(p.Members) != 3 {
		t.Fatalf("f5 pool %+v %v", p, err)
	}
	for _, m := range p.Members {
		if m.Self {
			t.Errorf("f5 %s marked self", m.Name)
		}
	}
	if got, want := pv.MemberKey(member(p, "web03:80")), Key(f5Method(t, f5s, "web03:80", nil, nil)); got != want || got == "" {
		t.Errorf("f5 member key %q, want %q", got, want)
	}
	if m := member(p, "web03:80"); m.Admin != AdminDrain || m.InRotation {
		t.Errorf("f5 web03 %+v", m)
	}

	elb := newELBStand(t)
	env := awsEnv(t, elb, "AWS_ACCESS_KEY_ID", awsKey, "AWS_SECRET_ACCESS_KEY", awsSecret)
	pv, err = NewPool("aws-elb:"+elb.ARN("web"), Options{Client: elb.Client(), Timeout: 5 * time.Second, Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	p, err = pv.Pool(context.Background())
	if err != nil || len(p.Members) != 3 {
		t.Fatalf("aws-elb pool %+v %v", p, err)
	}
	if m := member(p, "i-0abc1234def567891:80"); m.Health != HealthDown || m.InRotation || m.Self {
		t.Errorf("aws-elb unhealthy member %+v", m)
	}
	if got, want := pv.MemberKey(member(p, "10.0.0.7:8080")), Key(awsMethod(t, elb, "10.0.0.7:8080", env)); got != want || got == "" {
		t.Errorf("aws-elb member key %q, want %q", got, want)
	}
	if _, err := NewPool("f5:"+f5s.URL, Options{}); err == nil || !strings.Contains(err.Error(), "want f5:https://HOST#/PARTITION/POOL") {
		t.Errorf("f5 pool target without a pool: %v", err)
	}
}

// member is the pool member of that name, or a zero Member.
func member(p Pool, name string) Member {
	for _, m := range p.Members {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}
