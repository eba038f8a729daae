package elbtest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func ioCopy(b *strings.Builder, r *http.Request) (int64, error) {
	return io.Copy(b, io.LimitReader(r.Body, 1<<20))
}

func parseForm(body string) (url.Values, error) { return url.ParseQuery(body) }
