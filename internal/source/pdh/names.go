package pdh

import (
	"strconv"
	"strings"
)

// Names maps the object and counter names a localized Windows shows (and
// PdhEnumObjects returns) to the English names PdhAddEnglishCounter takes,
// through their Perflib index: both lists are the Counter value of a Perflib
// language key, index and name alternating.
type Names struct {
	english map[string]string // lower-case local name -> English
}

// NewNames pairs the English list (Perflib\009) with the local one
// (Perflib\CurrentLanguage). A name that is the same in both, or not in the
// local list, maps to itself.
func NewNames(english, local []string) *Names {
	byIndex := map[int]string{}
	for i := 0; i+1 < len(english); i += 2 {
		if n, err := strconv.Atoi(strings.TrimSpace(english[i])); err == nil {
			byIndex[n] = english[i+1]
		}
	}
	m := map[string]string{}
	for i := 0; i+1 < len(local); i += 2 {
		n, err := strconv.Atoi(strings.TrimSpace(local[i]))
		if err != nil {
			continue
		}
		en, ok := byIndex[n]
		key := strings.ToLower(local[i+1])
		if _, seen := m[key]; ok && !seen {
			m[key] = en
		}
	}
	return &Names{english: m}
}

// English returns the English name of a local object or counter name, or
// the name itself when it is not a translated one (IIS's W3SVC_W3WP, for
// one, is the same everywhere).
func (n *Names) English(local string) string {
	if n != nil {
		if en, ok := n.english[strings.ToLower(local)]; ok {
			return en
		}
	}
	return local
}
