package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

func init() {
	Register(Type{
		Name: "json", Syntax: "URL#PATH", Example: `json:http://127.0.0.1:9901/stats?format=json#stats.#(name=="http.ingress.downstream_rq_active").value`,
		Summary:     "the number at a gjson path (an array of numbers is summed)",
		DefaultName: jsonName, New: newJSON,
	})
}

// jsonSource reads a number from a JSON document with a gjson path, e.g.
// Envoy's /stats?format=json with
// stats.#(name=="http.ingress.downstream_rq_active").value.
type jsonSource struct {
	url  string
	path string
	opts Options
}

func newJSON(target string, opts Options) (Source, error) {
	rawURL, path, err := splitTarget(target, "PATH", `http://host:9901/stats?format=json#stats.#(name=="http.ingress.downstream_rq_active").value`)
	if err != nil {
		return nil, err
	}
	return &jsonSource{url: rawURL, path: path, opts: opts}, nil
}

func (s *jsonSource) Read(ctx context.Context) (float64, error) {
	body, err := fetch(ctx, s.opts, s.url, "application/json")
	if err != nil {
		return 0, err
	}
	return jsonValue(body, s.path)
}

// jsonValue returns the number at path in body: a number, a numeric string,
// or the sum of an array of those (what a #(...)# query returns). An empty
// array is an error: a query that matches nothing is not a zero.
func jsonValue(body []byte, path string) (float64, error) {
	if !gjson.ValidBytes(body) {
		return 0, fmt.Errorf("invalid JSON, cannot read path %q", path)
	}
	r := gjson.GetBytes(body, path)
	if !r.Exists() {
		return 0, fmt.Errorf("path %q not found", path)
	}
	if !r.IsArray() {
		v, err := jsonNumber(r)
		if err != nil {
			return 0, fmt.Errorf("path %q: %w", path, err)
		}
		return v, nil
	}
	elems := r.Array()
	if len(elems) == 0 {
		return 0, fmt.Errorf("path %q matched nothing (empty array)", path)
	}
	var sum float64
	for i, e := range elems {
		v, err := jsonNumber(e)
		if err != nil {
			return 0, fmt.Errorf("path %q: element %d: %w", path, i, err)
		}
		sum += v
	}
	return finite(sum)
}

// jsonNumber reads a JSON number or numeric string.
func jsonNumber(r gjson.Result) (float64, error) {
	switch {
	case r.Type == gjson.Number:
		return finite(r.Num)
	case r.Type == gjson.String:
		v, err := strconv.ParseFloat(strings.TrimSpace(r.Str), 64)
		if err != nil {
			return 0, fmt.Errorf("got %q, want a number", clip(r.Str, 40))
		}
		return finite(v)
	case r.IsArray():
		return 0, errors.New("got an array, want a number")
	case r.IsObject():
		return 0, errors.New("got an object, want a number")
	default: // true, false, null
		return 0, fmt.Errorf("got %s, want a number", r.Raw)
	}
}

// jsonName is host and path, plus #PATH.
func jsonName(t string) string {
	u, frag, _ := strings.Cut(t, "#")
	if frag = strings.TrimSpace(frag); frag != "" {
		return hostPath(u) + "#" + frag
	}
	return hostPath(u)
}
