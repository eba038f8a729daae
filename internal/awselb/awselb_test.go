package awselb

import (
	"testing"
)

func TestParseTargetAndEndpoint(t *testing.T) {
	arn := "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
	for in, want := range map[string]Target{
		arn + "#i-0abc":            {ID: "i-0abc"},
		arn + "#I-0ABC":            {ID: "i-0abc"},
		arn + "#i-0abc:8080":       {ID: "i-0abc", Port: 8080},
		arn + "#10.0.0.5":          {ID: "10.0.0.5"},
		arn + "#10.0.0.5:80":       {ID: "10.0.0.5", Port: 80},
		arn + "#2001:db8::5":       {ID: "2001:db8::5"},
		arn + "#[2001:db8::5]:443": {ID: "2001:db8::5", Port: 443},
	} {
		got, err := ParseTarget(in)
		if err != nil || got.ID != want.ID || got.Port != want.Port || got.Region != "cn-north-1" || got.Group != "web" || got.Partition != "aws-cn" {
			t.Errorf("%s: %+v %v", in, got, err)
		}
	}
	tg, _ := ParseTarget(arn + "#i-0abc")
	none := func(string) string { return "" }
	if ep := Endpoint(tg, none); ep != "https://elasticloadbalancing.cn-north-1.amazonaws.com.cn" {
		t.Errorf("endpoint %s", ep)
	}
	env := map[string]string{"AWS_ENDPOINT_URL": "http://a/", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": "http://b/"}
	if ep := Endpoint(tg, func(k string) string { return env[k] }); ep != "http://b" {
		t.Errorf("service endpoint override %s", ep)
	}
	delete(env, "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2")
	if ep := Endpoint(tg, func(k string) string { return env[k] }); ep != "http://a" {
		t.Errorf("global endpoint override %s", ep)
	}
}
