// Package elbtest is a stand-in for the AWS Elastic Load Balancing v2
// Query API, limited to DescribeTargetHealth, DeregisterTargets and
// RegisterTargets. No AWS account is reachable from CI; it is written from
// the AWS Elastic Load Balancing API Reference (version 2015-12-01) and its
// examples:
//
//   - requests: POST form-encoded Action=...&Version=2015-12-01&
//     TargetGroupArn=...&Targets.member.1.Id=...&Targets.member.1.Port=...
//   - answers: <DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.
//     amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult>
//     <TargetHealthDescriptions><member><Target><Id>i-0f76fade</Id><Port>80
//     </Port></Target><HealthCheckPort>80</HealthCheckPort><TargetHealth>
//     <State>healthy</State></TargetHealth></member>... (the reference's
//     "Describe the health of the targets" example)
//   - the states and reasons of TargetHealth (initial Elb.RegistrationInProgress,
//     draining Target.DeregistrationInProgress, unused Target.NotRegistered)
//   - DeregisterTargets of a target that is not registered succeeds (the
//     reference says so), InvalidTarget for an id that is not an instance
//     or IP the group could hold, TargetGroupNotFound for an unknown ARN
//   - errors: <ErrorResponse xmlns=...><Error><Type>Sender</Type><Code>...
//     </Code><Message>...</Message></Error><RequestId>...</RequestId>
//     </ErrorResponse> (Common Errors)
//   - every request must carry a SigV4 Authorization header of the
//     documented shape (AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
//     elasticloadbalancing/aws4_request, SignedHeaders=..., Signature=...):
//     the stand-in recomputes the signature with the key's secret
//     (InvalidClientTokenId for an unknown key, SignatureDoesNotMatch for a
//     wrong secret).
//
// Tests of drain's aws-elb method and source run against it; the docs say so.
package elbtest

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const ns = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// Registration is one target registered in a group.
type Registration struct {
	ID    string
	Port  int
	State string // initial, healthy, unhealthy, draining, unavailable
	// Unhealthy makes the target fail its health checks once registered.
	Unhealthy bool
	until     time.Time // initial: healthy then; draining: removed then
}

// Group is a target group.
type Group struct {
	ARN     string
	Port    int
	Targets []*Registration
}

// Server is the stand-in.
type Server struct {
	*httptest.Server
	Region string
	// Keys maps access key ids to secrets.
	Keys map[string]string
	// Known lists the instance ids and IPs that exist (in the VPC):
	// others are InvalidTarget.
	Known map[string]bool
	// DeregistrationDelay is how long a target drains (AWS default 300 s).
	DeregistrationDelay time.Duration
	// HealthyAfter is how long a registered target stays initial.
	HealthyAfter time.Duration
	// IgnoreChanges makes Register/DeregisterTargets answer success without
	// changing anything: the "change not taking effect" fault.
	IgnoreChanges bool

	mu     sync.Mutex
	groups map[string]*Group
	// Calls lists the actions called, in order.
	Calls    []string
	Rejected int // requests refused for their signature
	reqID    int
}

// New starts a stand-in for one region with one access key.
func New(region, keyID, secret string) *Server {
	s := &Server{
		Region: region, Keys: map[string]string{keyID: secret}, Known: map[string]bool{},
		HealthyAfter: 0, DeregistrationDelay: 300 * time.Second, groups: map[string]*Group{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Lock guards fields changed while requests run.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

// ARN makes a target group ARN in the stand-in's region.
func (s *Server) ARN(name string) string {
	return "arn:aws:elasticloadbalancing:" + s.Region + ":123456789012:targetgroup/" + name + "/73e2d6bc24d8a067"
}

// AddGroup adds a target group (default port) with registered targets
// (healthy unless their State says otherwise); their ids become Known.
func (s *Server) AddGroup(arn string, port int, targets ...Registration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &Group{ARN: arn, Port: port}
	for i := range targets {
		r := targets[i]
		if r.Port == 0 {
			r.Port = port
		}
		if r.State == "" {
			r.State = "healthy"
		}
		if r.State == "draining" {
			r.until = time.Now().Add(s.DeregistrationDelay)
		}
		g.Targets = append(g.Targets, &r)
		s.Known[r.ID] = true
	}
	s.groups[arn] = g
}

// Get returns a copy of the target's registrations.
func (s *Server) Get(arn, id string) []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	var out []Registration
	if g := s.groups[arn]; g != nil {
		for _, r := range g.Targets {
			if r.ID == id {
				out = append(out, *r)
			}
		}
	}
	return out
}

// tick moves time on: initial targets become healthy, draining ones go.
func (s *Server) tick() {
	now := time.Now()
	for _, g := range s.groups {
		keep := g.Targets[:0]
		for _, r := range g.Targets {
			switch {
			case r.State == "draining" && !now.Before(r.until):
				continue
			case r.State == "initial" && !now.Before(r.until):
				r.State = "healthy"
				if r.Unhealthy {
					r.State = "unhealthy"
				}
			}
			keep = append(keep, r)
		}
		g.Targets = keep
	}
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	s.reqID++
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%08d-0000-4000-8000-000000000000</RequestId></ErrorResponse>`,
		ns, typ, code, xmlEscape(msg), s.reqID)
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/elasticloadbalancing/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// checkSignature recomputes the SigV4 signature over the signed headers.
func (s *Server) checkSignature(r *http.Request, body string) (code, msg string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "MissingAuthenticationToken", "Request is missing Authentication Token"
	}
	m := authRE.FindStringSubmatch(auth)
	if m == nil {
		return "IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters of the AWS4-HMAC-SHA256 shape: " + auth
	}
	secret, ok := s.Keys[m[1]]
	if !ok {
		return "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	if m[3] != s.Region {
		return "SignatureDoesNotMatch", "Credential should be scoped to a valid region, not '" + m[3] + "'."
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), m[2]) {
		return "IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope"
	}
	if d := time.Since(when); d > 15*time.Minute || d < -15*time.Minute {
		return "SignatureDoesNotMatch", "Signature expired: " + r.Header.Get("X-Amz-Date") + " is now earlier than the allowed window"
	}
	again, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(body))
	again.Host = r.Host
	for _, h := range strings.Split(m[4], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	again.Header.Del("Authorization")
	creds := aws.Credentials{AccessKeyID: m[1], SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		hash = sha256Hex(body)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hash, "elasticloadbalancing", s.Region, when); err != nil {
		return "IncompleteSignature", err.Error()
	}
	if authRE.FindStringSubmatch(again.Header.Get("Authorization"))[5] != m[5] || hash != sha256Hex(body) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return "", ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	if r.Method != http.MethodPost {
		s.fail(w, http.StatusBadRequest, "InvalidAction", "The action or operation requested is invalid. Verify that the action is typed correctly.")
		return
	}
	var sb strings.Builder
	if _, err := ioCopy(&sb, r); err != nil {
		s.fail(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	body := sb.String()
	if code, msg := s.checkSignature(r, body); code != "" {
		s.Rejected++
		s.fail(w, http.StatusForbidden, code, msg)
		return
	}
	form, err := parseForm(body)
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.fail(w, http.StatusBadRequest, "MalformedQueryString", "not a form-encoded Query API request")
		return
	}
	action := form.Get("Action")
	s.Calls = append(s.Calls, action)
	if form.Get("Version") != "2015-12-01" {
		s.fail(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+action+" for version "+form.Get("Version"))
		return
	}
	g := s.groups[form.Get("TargetGroupArn")]
	switch action {
	case "DescribeTargetHealth", "RegisterTargets", "DeregisterTargets":
	default:
		s.fail(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+action+" for version 2015-12-01")
		return
	}
	if form.Get("TargetGroupArn") == "" {
		s.fail(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null")
		return
	}
	if g == nil {
		s.fail(w, http.StatusBadRequest, "TargetGroupNotFound", "One or more target groups not found")
		return
	}
	var targets []Registration
	for i := 1; form.Get("Targets.member."+strconv.Itoa(i)+".Id") != ""; i++ {
		p := "Targets.member." + strconv.Itoa(i) + "."
		port, _ := strconv.Atoi(form.Get(p + "Port"))
		targets = append(targets, Registration{ID: form.Get(p + "Id"), Port: port})
	}
	for _, t := range targets {
		if !s.Known[t.ID] {
			s.fail(w, http.StatusBadRequest, "InvalidTarget", fmt.Sprintf("The following targets are not valid instances or IP addresses in the target group's VPC: '%s'", t.ID))
			return
		}
	}
	if action != "DescribeTargetHealth" && len(targets) == 0 {
		s.fail(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null")
		return
	}
	s.reqID++
	w.Header().Set("Content-Type", "text/xml")
	switch action {
	case "DescribeTargetHealth":
		var b strings.Builder
		member := func(id string, port int, state, reason, desc string) {
			fmt.Fprintf(&b, "<member><Target><Id>%s</Id><Port>%d</Port></Target><HealthCheckPort>%d</HealthCheckPort><TargetHealth><State>%s</State>", id, port, port, state)
			if reason != "" {
				fmt.Fprintf(&b, "<Reason>%s</Reason><Description>%s</Description>", reason, xmlEscape(desc))
			}
			b.WriteString("</TargetHealth></member>")
		}
		show := func(r *Registration) {
			switch r.State {
			case "initial":
				member(r.ID, r.Port, r.State, "Elb.RegistrationInProgress", "Target registration is in progress")
			case "draining":
				member(r.ID, r.Port, r.State, "Target.DeregistrationInProgress", "Target deregistration is in progress")
			case "unhealthy":
				member(r.ID, r.Port, r.State, "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]")
			case "unavailable":
				member(r.ID, r.Port, r.State, "Target.HealthCheckDisabled", "Health checks are disabled for the target group")
			default:
				member(r.ID, r.Port, r.State, "", "")
			}
		}
		if len(targets) == 0 {
			for _, r := range g.Targets {
				show(r)
			}
		}
		for _, t := range targets {
			found := false
			for _, r := range g.Targets {
				if r.ID == t.ID && (t.Port == 0 || t.Port == r.Port) {
					show(r)
					found = true
				}
			}
			if !found {
				port := t.Port
				if port == 0 {
					port = g.Port
				}
				member(t.ID, port, "unused", "Target.NotRegistered", "Target is not registered to the target group")
			}
		}
		fmt.Fprintf(w, `<DescribeTargetHealthResponse xmlns="%s"><DescribeTargetHealthResult><TargetHealthDescriptions>%s</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>%08d-0000-4000-8000-000000000000</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`, ns, b.String(), s.reqID)
	case "RegisterTargets":
		if !s.IgnoreChanges {
			for _, t := range targets {
				if t.Port == 0 {
					t.Port = g.Port
				}
				var reg *Registration
				for _, r := range g.Targets {
					if r.ID == t.ID && r.Port == t.Port {
						reg = r
					}
				}
				if reg == nil {
					reg = &Registration{ID: t.ID, Port: t.Port}
					g.Targets = append(g.Targets, reg)
				}
				if reg.State == "draining" || reg.State == "" {
					reg.State, reg.until = "initial", time.Now().Add(s.HealthyAfter)
				}
			}
			s.tick()
		}
		fmt.Fprintf(w, `<RegisterTargetsResponse xmlns="%s"><RegisterTargetsResult/><ResponseMetadata><RequestId>%08d-0000-4000-8000-000000000000</RequestId></ResponseMetadata></RegisterTargetsResponse>`, ns, s.reqID)
	case "DeregisterTargets":
		if !s.IgnoreChanges {
			for _, t := range targets {
				for _, r := range g.Targets {
					if r.ID == t.ID && (r.Port == t.Port || (t.Port == 0 && r.Port == g.Port)) && r.State != "draining" {
						r.State, r.until = "draining", time.Now().Add(s.DeregistrationDelay)
					}
				}
			}
			s.tick()
		}
		fmt.Fprintf(w, `<DeregisterTargetsResponse xmlns="%s"><DeregisterTargetsResult/><ResponseMetadata><RequestId>%08d-0000-4000-8000-000000000000</RequestId></ResponseMetadata></DeregisterTargetsResponse>`, ns, s.reqID)
	}
}

// Set puts a registered target in a state (draining starts its delay).
func (s *Server) Set(arn, id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[arn]; g != nil {
		for _, r := range g.Targets {
			if r.ID == id {
				r.State = state
				r.until = time.Now().Add(s.DeregistrationDelay)
			}
		}
	}
}
