package source

import (
	"context"
	"fmt"
	"os"

	"github.com/drain-cli/drain/internal/awselb"
)

func init() {
	Register(Type{
		Name: "aws-elb", Syntax: "TARGET_GROUP_ARN#TARGET_ID[:PORT]", Example: "aws-elb:arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef#i-0abc1234",
		Summary: "1 while the target is registered or draining in its ALB/NLB target group, 0 once unused (no arrivals counter: ELBv2 has none per target, so the quiet window stays)",
		New:     newAWSELB,
	})
}

// awsELBSource reads whether an ELBv2 target group still sends a target
// requests: aws-elb:TARGET_GROUP_ARN#TARGET_ID[:PORT] is 1 while the target
// is registered or draining (its deregistration delay runs) and 0 once it
// is unused (deregistered and drained). A DescribeTargetHealth that fails
// is an error (unknown), never 0.
type awsELBSource struct {
	t      awselb.Target
	client *awselb.Client
	opts   Options
}

func newAWSELB(target string, opts Options) (Source, error) {
	t, err := awselb.ParseTarget(target)
	if err != nil {
		return nil, err
	}
	return &awsELBSource{t: t, opts: opts, client: &awselb.Client{
		HTTP: opts.Client, Endpoint: awselb.Endpoint(t, os.Getenv), Region: t.Region, Creds: awselb.Chain(os.Getenv),
	}}, nil
}

func (s *awsELBSource) Read(ctx context.Context) (float64, error) {
	if s.opts.ReadTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.ReadTimeout)
		defer cancel()
	}
	all, err := s.client.DescribeTargetHealth(ctx, s.t.ARN)
	if err != nil {
		return 0, fmt.Errorf("aws-elb %s/%s: %w", s.t.Group, s.t.ID, err)
	}
	for _, h := range all {
		if h.ID == s.t.ID && (s.t.Port == 0 || h.Port == s.t.Port) && (h.Registered() || h.State == awselb.StateDraining) {
			return 1, nil
		}
	}
	// Not listed: deregistered and drained, or an id AWS does not know
	// (InvalidTarget), which must not read as drained.
	if _, err := s.client.DescribeTargetHealth(ctx, s.t.ARN, awselb.TargetHealth{ID: s.t.ID, Port: s.t.Port}); err != nil {
		return 0, fmt.Errorf("aws-elb %s/%s: %w", s.t.Group, s.t.ID, err)
	}
	return 0, nil
}
