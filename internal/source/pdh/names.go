package pdh

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Names maps the object and counter names a localized Windows shows (and
// PdhEnumObjects returns) to the English names PdhAddEnglishCounter takes.
// Two sources: the Perflib lists, where registry-based providers' names are,
// index and name alternating in the Counter value of a Perflib language
// key; and the counter sets of manifest-based providers (HTTP Service
// Request Queues, for one), whose names are in the provider's resources and
// not in those lists (AddCounterSets).
type Names struct {
	english map[string]string     // lower-case local name -> English
	sets    map[string]CounterSet // lower-case local counter set name -> set
}

// CounterSet is a manifest-based provider's counter set as the Performance
// Counter Library registers it: its name in the local language (or
// languages) and in English, and its counters' names the same way.
type CounterSet struct {
	English string
	Local   []string
	// Counters maps a counter's local name, lower case, to its English name.
	Counters map[string]string
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

// AddCounterSets adds the names of manifest-based counter sets. A name the
// Perflib lists already know keeps their mapping.
func (n *Names) AddCounterSets(sets []CounterSet) {
	if n.sets == nil {
		n.sets = map[string]CounterSet{}
	}
	for _, s := range sets {
		for _, l := range s.Local {
			if key := strings.ToLower(l); key != "" {
				if _, seen := n.sets[key]; !seen {
					n.sets[key] = s
				}
			}
		}
	}
}

// English returns the English name of a local object (or counter) name, or
// the name itself when it is not a translated one (IIS's W3SVC_W3WP, for
// one, is the same everywhere).
func (n *Names) English(local string) string {
	if n != nil {
		key := strings.ToLower(local)
		if en, ok := n.english[key]; ok {
			return en
		}
		if s, ok := n.sets[key]; ok && s.English != "" {
			return s.English
		}
	}
	return local
}

// Counter returns the English name of a counter of the local object: the
// counter set's own English name for it where the object is a
// manifest-based counter set, else the Perflib one, else the name itself.
func (n *Names) Counter(localObject, localCounter string) string {
	if n != nil {
		if _, perflib := n.english[strings.ToLower(localObject)]; !perflib {
			if s, ok := n.sets[strings.ToLower(localObject)]; ok {
				if en, ok := s.Counters[strings.ToLower(localCounter)]; ok && en != "" {
					return en
				}
			}
		}
	}
	return n.English(localCounter)
}

// errStringBlock is a PERF_STRING_BUFFER_HEADER block that does not hold
// together (a size or an offset outside it).
var errStringBlock = errors.New("malformed counter name block")

// ParseCounterStrings reads a PERF_STRING_BUFFER_HEADER block (what
// PerfQueryCounterSetRegistrationInfo returns for PERF_REG_COUNTER_NAME_STRINGS
// and PERF_REG_COUNTER_ENGLISH_NAMES): a header {dwSize, dwCounters}, that
// many {dwCounterId, dwOffset}, then NUL-terminated UTF-16LE strings at
// their offsets from the block's start; an offset of 0xFFFFFFFF is no
// string. It returns the names by counter id.
func ParseCounterStrings(b []byte) (map[uint32]string, error) {
	if len(b) < 8 {
		return nil, errStringBlock
	}
	size, count := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if uint64(size) > uint64(len(b)) || uint64(count)*8+8 > uint64(size) {
		return nil, errStringBlock
	}
	b = b[:size]
	out := make(map[uint32]string, count)
	for i := range count {
		h := b[8+8*i:]
		id, off := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:])
		if off == 0xFFFFFFFF {
			continue
		}
		if off >= size || off%2 != 0 {
			return nil, errStringBlock
		}
		s, ok := utf16z(b[off:])
		if !ok {
			return nil, errStringBlock
		}
		out[id] = s
	}
	return out, nil
}

// utf16z decodes a NUL-terminated UTF-16LE string; ok is false when b ends
// before the NUL.
func utf16z(b []byte) (string, bool) {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			return string(utf16.Decode(u)), true
		}
		u = append(u, c)
	}
	return "", false
}
