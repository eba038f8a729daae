// Package awselb is a small client for the three Elastic Load Balancing v2
// (ALB/NLB target group) calls drain makes: DescribeTargetHealth,
// DeregisterTargets and RegisterTargets, over the documented Query API
// (form-encoded POST, Action=...&Version=2015-12-01, XML answers), signed
// with the AWS SDK's SigV4 signer and credentials from the SDK's providers.
//
// Why not the SDK's service client: github.com/aws/aws-sdk-go-v2/config
// (the full default chain: SSO, STS web identity, assume-role, ...) plus
// service/elasticloadbalancingv2 made the stripped binary 16,756,898 bytes
// (config alone 16,167,074), over drain's 15 MiB budget; the signer, the
// credentials cache and the instance-role provider (ec2rolecreds over IMDS)
// cost 647,168 bytes (12,402,850 -> 13,050,018). The environment and the
// shared-file profile keys are read here (a few dozen lines); profiles that
// need STS (role_arn, sso_*, web identity, credential_process) are refused
// with a clear message rather than half-supported.
//
// References (AWS Elastic Load Balancing API Reference, version
// 2015-12-01): DescribeTargetHealth (TargetGroupArn, Targets.member.N.Id,
// Targets.member.N.Port; answer TargetHealthDescriptions.member with
// Target{Id,Port,AvailabilityZone}, HealthCheckPort, TargetHealth{State,
// Reason,Description}; states initial, healthy, unhealthy, unused,
// draining, unavailable), DeregisterTargets ("If the specified target does
// not exist, the action returns successfully": drain checks first),
// RegisterTargets; Common Errors (<ErrorResponse><Error><Type>Sender</Type>
// <Code>TargetGroupNotFound</Code><Message>...</Message></Error>
// <RequestId>...</RequestId></ErrorResponse>). The endpoint override
// variables are the SDK's documented AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2
// and AWS_ENDPOINT_URL.
package awselb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// APIVersion is the ELBv2 Query API version.
const APIVersion = "2015-12-01"

// Target states (TargetHealthStateEnum).
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

// Target is TARGET_GROUP_ARN#TARGET_ID[:PORT].
type Target struct {
	ARN       string
	Partition string // aws, aws-cn, aws-us-gov
	Region    string
	Group     string // the target group's name
	ID        string // instance id or IP address
	Port      int    // 0: any (the one registration there is)
}

// ParseTarget reads TARGET_GROUP_ARN#TARGET_ID[:PORT].
func ParseTarget(s string) (Target, error) {
	const want = "want TARGET_GROUP_ARN#TARGET_ID[:PORT], e.g. arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef#i-0abc1234def567890:80"
	arn, tgt, ok := strings.Cut(strings.TrimSpace(s), "#")
	if !ok || tgt == "" {
		return Target{}, fmt.Errorf("%q: no '#TARGET' after the target group ARN: %s", s, want)
	}
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "elasticloadbalancing" || f[3] == "" || !strings.HasPrefix(f[5], "targetgroup/") {
		return Target{}, fmt.Errorf("%q: not a target group ARN: %s", arn, want)
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(f[5], "targetgroup/"), "/")
	t := Target{ARN: arn, Partition: f[1], Region: f[3], Group: name}
	id, port := tgt, ""
	if h, p, err := net.SplitHostPort(tgt); err == nil {
		id, port = h, p
	} else if i := strings.LastIndex(tgt, ":"); i >= 0 && net.ParseIP(tgt) == nil {
		id, port = tgt[:i], tgt[i+1:]
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("%q: port %q is not 1-65535", s, port)
		}
		t.Port = n
	}
	switch {
	case strings.HasPrefix(strings.ToLower(id), "i-") && len(id) > 2 && isHex(id[2:]):
		id = strings.ToLower(id)
	case net.ParseIP(id) != nil:
		id = net.ParseIP(id).String()
	default:
		return Target{}, fmt.Errorf("%q: target %q is neither an instance id (i-0abc...) nor an IP address", s, id)
	}
	t.ID = id
	return t, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(strings.Repeat("0", len(s)%2) + s)
	return err == nil
}

// String is the canonical target.
func (t Target) String() string {
	s := t.ARN + "#" + t.ID
	if t.Port != 0 {
		if strings.Contains(t.ID, ":") {
			return t.ARN + "#[" + t.ID + "]:" + strconv.Itoa(t.Port)
		}
		s += ":" + strconv.Itoa(t.Port)
	}
	return s
}

// Endpoint is the ELBv2 endpoint for the target's region, or the SDK's
// documented override (AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, then
// AWS_ENDPOINT_URL).
func Endpoint(t Target, getenv func(string) string) string {
	for _, k := range []string{"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_ENDPOINT_URL"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return strings.TrimRight(v, "/")
		}
	}
	suffix := "amazonaws.com"
	if strings.HasPrefix(t.Region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://elasticloadbalancing." + t.Region + "." + suffix
}

// TargetHealth is one member of a DescribeTargetHealth answer.
type TargetHealth struct {
	ID               string `xml:"Target>Id"`
	Port             int    `xml:"Target>Port"`
	AvailabilityZone string `xml:"Target>AvailabilityZone"`
	State            string `xml:"TargetHealth>State"`
	Reason           string `xml:"TargetHealth>Reason"`
	Description      string `xml:"TargetHealth>Description"`
}

// Registered tells a target the group still holds (not draining, not
// unused).
func (h TargetHealth) Registered() bool {
	switch h.State {
	case StateInitial, StateHealthy, StateUnhealthy, StateUnavailable:
		return true
	}
	return false
}

// Error is an ELBv2 error answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	msg := strings.Join(strings.Fields(e.Message), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return fmt.Sprintf("ELB API answered %d %s: %s", e.Status, e.Code, msg)
}

// Auth tells refused credentials (or a refused permission).
func (e *Error) Auth() bool {
	switch e.Code {
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied", "AccessDeniedException",
		"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "IncompleteSignature",
		"MissingAuthenticationToken", "AuthFailure", "UnauthorizedOperation":
		return true
	}
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Client calls ELBv2 for one region.
type Client struct {
	HTTP     *http.Client
	Endpoint string
	Region   string
	Creds    aws.CredentialsProvider
	signer   *v4.Signer
}

// Call sends Action with params and decodes the XML answer into out.
func (c *Client) Call(ctx context.Context, action string, params url.Values, out any) error {
	if c.signer == nil {
		c.signer = v4.NewSigner()
	}
	creds, err := c.Creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("Action", action)
	form.Set("Version", APIVersion)
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "elasticloadbalancing", c.Region, time.Now()); err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var er struct {
			Error struct {
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
		}
		e := &Error{Status: resp.StatusCode}
		if xml.Unmarshal(b, &er) == nil {
			e.Code, e.Message = er.Error.Code, er.Error.Message
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := xml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("ELB API answer is not the XML expected: %w", err)
	}
	return nil
}

func targetParams(arn string, targets ...TargetHealth) url.Values {
	v := url.Values{"TargetGroupArn": {arn}}
	for i, t := range targets {
		p := "Targets.member." + strconv.Itoa(i+1) + "."
		v.Set(p+"Id", t.ID)
		if t.Port != 0 {
			v.Set(p+"Port", strconv.Itoa(t.Port))
		}
		if t.AvailabilityZone != "" {
			v.Set(p+"AvailabilityZone", t.AvailabilityZone)
		}
	}
	return v
}

// DescribeTargetHealth lists the group's targets (none given) or the
// given ones.
func (c *Client) DescribeTargetHealth(ctx context.Context, arn string, targets ...TargetHealth) ([]TargetHealth, error) {
	var out struct {
		Members []TargetHealth `xml:"DescribeTargetHealthResult>TargetHealthDescriptions>member"`
	}
	if err := c.Call(ctx, "DescribeTargetHealth", targetParams(arn, targets...), &out); err != nil {
		return nil, err
	}
	sort.SliceStable(out.Members, func(i, j int) bool {
		if out.Members[i].ID != out.Members[j].ID {
			return out.Members[i].ID < out.Members[j].ID
		}
		return out.Members[i].Port < out.Members[j].Port
	})
	return out.Members, nil
}

// DeregisterTargets starts the target's deregistration (draining).
func (c *Client) DeregisterTargets(ctx context.Context, arn string, t TargetHealth) error {
	return c.Call(ctx, "DeregisterTargets", targetParams(arn, t), nil)
}

// RegisterTargets registers the target again.
func (c *Client) RegisterTargets(ctx context.Context, arn string, t TargetHealth) error {
	return c.Call(ctx, "RegisterTargets", targetParams(arn, t), nil)
}

// ErrNoCredentials is returned when no provider of the chain has any.
var ErrNoCredentials = errors.New("no AWS credentials")

// Chain is the credentials chain: the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared files' profile
// (AWS_PROFILE, else default; AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE,
// else ~/.aws/credentials and ~/.aws/config), then the instance role over
// IMDS (AWS_EC2_METADATA_DISABLED=true skips it;
// AWS_EC2_METADATA_SERVICE_ENDPOINT moves it), cached until they expire.
func Chain(getenv func(string) string) aws.CredentialsProvider {
	if getenv == nil {
		getenv = os.Getenv
	}
	return aws.NewCredentialsCache(chain{getenv: getenv})
}

type chain struct{ getenv func(string) string }

func (c chain) Retrieve(ctx context.Context) (aws.Credentials, error) {
	env := c.getenv
	id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
	if id == "" {
		id = env("AWS_ACCESS_KEY")
	}
	if secret == "" {
		secret = env("AWS_SECRET_KEY")
	}
	if id != "" && secret != "" {
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: env("AWS_SESSION_TOKEN"), Source: "environment"}, nil
	}
	creds, found, err := c.profile()
	if err != nil || found {
		return creds, err
	}
	if strings.EqualFold(env("AWS_EC2_METADATA_DISABLED"), "true") {
		return aws.Credentials{}, fmt.Errorf("%w: none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the shared files, and AWS_EC2_METADATA_DISABLED=true", ErrNoCredentials)
	}
	// IMDS answers within milliseconds on EC2; off EC2 nothing listens at
	// 169.254.169.254 and each attempt would wait for its connect timeout.
	opts := imds.Options{HTTPClient: &http.Client{Timeout: time.Second}}
	if ep := env("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ep != "" {
		opts.Endpoint = ep
	}
	p := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.New(opts) })
	cr, err := p.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("%w: none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the shared files, and no instance role (IMDS: %s)", ErrNoCredentials, oneLine(err))
	}
	return cr, nil
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// profile reads the profile's static keys from the shared credentials file,
// then the config file.
func (c chain) profile() (aws.Credentials, bool, error) {
	env := c.getenv
	name := env("AWS_PROFILE")
	if name == "" {
		name = env("AWS_DEFAULT_PROFILE")
	}
	explicit := name != ""
	if name == "" {
		name = "default"
	}
	home := env("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	credFile := env("AWS_SHARED_CREDENTIALS_FILE")
	if credFile == "" && home != "" {
		credFile = filepath.Join(home, ".aws", "credentials")
	}
	cfgFile := env("AWS_CONFIG_FILE")
	if cfgFile == "" && home != "" {
		cfgFile = filepath.Join(home, ".aws", "config")
	}
	seen := false
	for _, f := range []struct{ path, section string }{
		{credFile, name},
		{cfgFile, map[bool]string{true: "default", false: "profile " + name}[name == "default"]},
	} {
		if f.path == "" {
			continue
		}
		kv, ok, err := iniSection(f.path, f.section)
		if err != nil {
			return aws.Credentials{}, false, err
		}
		if !ok {
			continue
		}
		seen = true
		if kv["aws_access_key_id"] != "" && kv["aws_secret_access_key"] != "" {
			return aws.Credentials{
				AccessKeyID: kv["aws_access_key_id"], SecretAccessKey: kv["aws_secret_access_key"],
				SessionToken: kv["aws_session_token"], Source: "shared profile " + name,
			}, true, nil
		}
		for _, k := range []string{"role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file", "source_profile"} {
			if kv[k] != "" {
				return aws.Credentials{}, false, fmt.Errorf("AWS profile %q in %s uses %s, which drain's credentials chain does not support (env, static profile keys, instance role): export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN (e.g. from `aws configure export-credentials`)", name, f.path, k)
			}
		}
	}
	if explicit && !seen {
		return aws.Credentials{}, false, fmt.Errorf("AWS profile %q (AWS_PROFILE) not found in %s or %s", name, credFile, cfgFile)
	}
	return aws.Credentials{}, false, nil
}

// iniSection reads one [section] of an AWS shared file; a missing file is
// not an error.
func iniSection(path, section string) (map[string]string, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var kv map[string]string
	in := false
	for line := range bytes.Lines(b) {
		l := strings.TrimSpace(string(line))
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			name := strings.Join(strings.Fields(l[1:len(l)-1]), " ")
			in = name == section
			if in && kv == nil {
				kv = map[string]string{}
			}
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok {
			kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return kv, kv != nil, nil
}
