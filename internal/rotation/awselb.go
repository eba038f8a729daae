package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/awselb"
	"github.com/drain-cli/drain/internal/suggest"
)

func init() {
	Register(Type{
		Name:         "aws-elb",
		Syntax:       "TARGET_GROUP_ARN#TARGET_ID[:PORT]",
		Example:      "aws-elb:arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef#i-0abc1234def567890:80",
		Summary:      "AWS ALB/NLB target deregistered from its target group (it drains for the group's deregistration delay); in registers it again",
		SettingsNote: "credentials come from the AWS environment, profile or instance role; the endpoint from AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
		New:          newAWSELB,
		Pool:         poolOfMethod("aws-elb", "TARGET_GROUP_ARN", "aws-elb:arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef", "#", "i-00000000000000000"),
	})
}

// AWSELB takes a target out of an ELBv2 (ALB/NLB) target group:
// DeregisterTargets (the target drains for the group's deregistration
// delay, then is gone), RegisterTargets to put it back, both checked with
// DescribeTargetHealth. Credentials come from the environment, the shared
// profile or the instance role (awselb.Chain); the region from the ARN.
type AWSELB struct {
	t       awselb.Target
	client  *awselb.Client
	timeout time.Duration
}

// awsUndo is the registration before out: what RegisterTargets needs.
type awsUndo struct {
	ID               string `json:"id"`
	Port             int    `json:"port,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	State            string `json:"state,omitempty"`
}

func newAWSELB(target string, opts Options) (Method, error) {
	t, err := awselb.ParseTarget(target)
	if err != nil {
		return nil, configErrorf("aws-elb: %w", err)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return &AWSELB{t: t, timeout: opts.Timeout, client: &awselb.Client{
		HTTP: opts.Client, Endpoint: awselb.Endpoint(t, getenv), Region: t.Region, Creds: awselb.Chain(getenv),
	}}, nil
}

// Type implements Method.
func (m *AWSELB) Type() string { return "aws-elb" }

// Target implements Method.
func (m *AWSELB) Target() string { return m.t.String() }

func (m *AWSELB) name() string {
	id := m.t.ID
	if m.t.Port != 0 {
		id = net.JoinHostPort(id, strconv.Itoa(m.t.Port))
	}
	return "aws-elb " + m.t.Group + "/" + id
}

func (m *AWSELB) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.timeout > 0 {
		return context.WithTimeout(ctx, m.timeout)
	}
	return context.WithCancel(ctx)
}

func (m *AWSELB) wrap(err error) error {
	var e *awselb.Error
	if errors.As(err, &e) && e.Code == "TargetGroupNotFound" {
		return configErrorf("aws-elb: no target group %s (TargetGroupNotFound: check the ARN, its region %s and the account)", m.t.ARN, m.t.Region)
	}
	return fmt.Errorf("%s: %w", m.name(), err)
}

// group reads the whole group's targets.
func (m *AWSELB) group(ctx context.Context) ([]awselb.TargetHealth, error) {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	all, err := m.client.DescribeTargetHealth(ctx, m.t.ARN)
	if err != nil {
		return nil, m.wrap(err)
	}
	return all, nil
}

// find returns this target's registration in the group (nil when it is
// not registered, or drained and gone), and the group.
func (m *AWSELB) find(ctx context.Context) (*awselb.TargetHealth, []awselb.TargetHealth, error) {
	all, err := m.group(ctx)
	if err != nil {
		return nil, nil, err
	}
	var mine []awselb.TargetHealth
	for _, h := range all {
		if h.ID == m.t.ID && (m.t.Port == 0 || h.Port == m.t.Port) {
			mine = append(mine, h)
		}
	}
	switch len(mine) {
	case 0:
		return nil, all, nil
	case 1:
		return &mine[0], all, nil
	}
	ports := make([]string, len(mine))
	for i, h := range mine {
		ports[i] = strconv.Itoa(h.Port)
	}
	return nil, all, configErrorf("aws-elb: %s is registered in %s on ports %s: name one (%s:PORT)", m.t.ID, m.t.Group, strings.Join(ports, ", "), m.t.ID)
}

func targetName(h awselb.TargetHealth) string {
	return net.JoinHostPort(h.ID, strconv.Itoa(h.Port))
}

// notRegistered is the error for a target the group does not hold: an id
// AWS does not know (InvalidTarget) or one not registered there.
func (m *AWSELB) notRegistered(ctx context.Context, all []awselb.TargetHealth) error {
	names := make([]string, 0, len(all))
	ids := make([]string, 0, len(all))
	for _, h := range all {
		names = append(names, targetName(h)+" "+h.State)
		ids = append(ids, h.ID)
	}
	list := "none"
	if len(names) > 0 {
		list = someNames(names)
	}
	why := "is not registered in"
	cctx, cancel := m.ctx(ctx)
	defer cancel()
	_, err := m.client.DescribeTargetHealth(cctx, m.t.ARN, awselb.TargetHealth{ID: m.t.ID, Port: m.t.Port})
	var e *awselb.Error
	if errors.As(err, &e) && e.Code == "InvalidTarget" {
		why = "is not a valid target (InvalidTarget) for"
	}
	msg := fmt.Sprintf("aws-elb: %s %s target group %s (registered: %s)", m.t.ID, why, m.t.Group, list)
	if s := suggest.Similar(m.t.ID, ids, 1); len(s) > 0 {
		msg += "; did you mean " + s[0] + "?"
	}
	return configErrorf("%s", msg)
}

// Status implements Method: IN only when the target is healthy (or
// unavailable: health checks disabled, it gets traffic); OUT while it is
// draining, not registered, or registered but not yet healthy (initial),
// so that in with --wait-healthy can wait on it; an unhealthy target is
// OUT with an error saying why.
func (m *AWSELB) Status(ctx context.Context) (Status, error) {
	reg, all, err := m.find(ctx)
	if err != nil {
		return Unknown, err
	}
	if reg == nil {
		ctx, cancel := m.ctx(ctx)
		defer cancel()
		_, err := m.client.DescribeTargetHealth(ctx, m.t.ARN, awselb.TargetHealth{ID: m.t.ID, Port: m.t.Port})
		var e *awselb.Error
		if errors.As(err, &e) && e.Code == "InvalidTarget" {
			return Unknown, m.notRegistered(ctx, all)
		}
		return Out, nil
	}
	switch reg.State {
	case awselb.StateHealthy, awselb.StateUnavailable:
		return In, nil
	case awselb.StateUnhealthy:
		return Out, fmt.Errorf("%s is registered but unhealthy by the target group's health checks (%s: %s)", m.name(), reg.Reason, reg.Description)
	}
	return Out, nil
}

// Out implements Method.
func (m *AWSELB) Out(ctx context.Context, save func(undo any) error) (bool, error) {
	reg, all, err := m.find(ctx)
	if err != nil {
		return false, err
	}
	if reg == nil {
		return false, m.notRegistered(ctx, all)
	}
	if !reg.Registered() {
		return false, nil // draining already
	}
	if err := save(awsUndo{ID: reg.ID, Port: reg.Port, AvailabilityZone: reg.AvailabilityZone, State: reg.State}); err != nil {
		return false, err
	}
	cctx, cancel := m.ctx(ctx)
	err = m.client.DeregisterTargets(cctx, m.t.ARN, awselb.TargetHealth{ID: reg.ID, Port: reg.Port, AvailabilityZone: reg.AvailabilityZone})
	cancel()
	if err != nil {
		return false, m.wrap(err)
	}
	return true, m.verify(ctx, reg.ID, reg.Port, false)
}

// verify reads the target back a few times until it is (or is no longer)
// registered.
func (m *AWSELB) verify(ctx context.Context, id string, port int, registered bool) error {
	var last string
	for i := range 4 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
		cctx, cancel := m.ctx(ctx)
		hs, err := m.client.DescribeTargetHealth(cctx, m.t.ARN, awselb.TargetHealth{ID: id, Port: port})
		cancel()
		if err != nil {
			return m.wrap(err)
		}
		ok := !registered
		last = "not listed"
		for _, h := range hs {
			last = h.State
			if h.Reason != "" {
				last += " (" + h.Reason + ")"
			}
			ok = h.Registered() == registered
		}
		if ok {
			return nil
		}
	}
	verb := "deregistration"
	if registered {
		verb = "registration"
	}
	return fmt.Errorf("%s: the ELB API accepted the %s but the target reads %s", m.name(), verb, last)
}

// In implements Method: RegisterTargets with the registration out saw
// (port, availability zone); with no record, the target's port or the
// group's default.
func (m *AWSELB) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	want := awsUndo{ID: m.t.ID, Port: m.t.Port}
	if len(undo) > 0 && string(undo) != "null" {
		if err := json.Unmarshal(undo, &want); err != nil {
			return false, fmt.Errorf("aws-elb: undo data: %w", err)
		}
		if want.ID != m.t.ID {
			return false, fmt.Errorf("aws-elb: the record is for target %s, not %s", want.ID, m.t.ID)
		}
	}
	all, err := m.group(ctx)
	if err != nil {
		return false, err
	}
	for _, h := range all {
		if h.ID == want.ID && (want.Port == 0 || h.Port == want.Port) && h.Registered() {
			return false, nil
		}
	}
	cctx, cancel := m.ctx(ctx)
	err = m.client.RegisterTargets(cctx, m.t.ARN, awselb.TargetHealth{ID: want.ID, Port: want.Port, AvailabilityZone: want.AvailabilityZone})
	cancel()
	if err != nil {
		var e *awselb.Error
		if errors.As(err, &e) && e.Code == "InvalidTarget" {
			return false, configErrorf("%s: %w", m.name(), err)
		}
		return false, m.wrap(err)
	}
	return true, m.verify(ctx, want.ID, want.Port, true)
}

// PoolID implements the pool identity (budget locks and etcd records): the
// target group's ARN, not the target.
func (m *AWSELB) PoolID() string { return "aws-elb:" + m.t.ARN }

// Pool implements Pooler: DescribeTargetHealth of the whole group.
func (m *AWSELB) Pool(ctx context.Context) (Pool, error) {
	all, err := m.group(ctx)
	if err != nil {
		return Pool{}, err
	}
	p := Pool{Name: m.t.Group}
	for _, h := range all {
		mb := Member{Name: targetName(h), Self: h.ID == m.t.ID && (m.t.Port == 0 || h.Port == m.t.Port), Detail: h.State}
		if h.Reason != "" {
			mb.Detail += " (" + h.Reason + ")"
		}
		if net.ParseIP(h.ID) != nil {
			mb.Addr = targetName(h)
		}
		mb.Admin = AdminEnabled
		if !h.Registered() {
			mb.Admin = AdminDisabled // draining: deregistered, in-flight requests only
		}
		switch h.State {
		case awselb.StateHealthy:
			mb.Health = HealthUp
		case awselb.StateUnhealthy:
			mb.Health = HealthDown
		default:
			mb.Health = HealthUnknown
		}
		mb.InRotation = h.State == awselb.StateHealthy || h.State == awselb.StateUnavailable
		p.Members = append(p.Members, mb)
	}
	return p, nil
}

var _ Pooler = (*AWSELB)(nil)
