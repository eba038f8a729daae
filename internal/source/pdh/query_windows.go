package pdh

import (
	"errors"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Query is one open PDH query. Keeping it open across polls means a rate
// counter needs two collects once, not on every poll.
type Query struct {
	h        windows.Handle
	collects int
}

// Counter is one counter path added to a query.
type Counter struct {
	h    windows.Handle
	Path string
	// Wildcard is set for an instance of "*": read every instance.
	Wildcard bool
}

// Item is one instance's value.
type Item struct {
	Instance string
	Value    float64
}

// Open opens a real-time query.
func Open() (*Query, error) {
	var h windows.Handle
	if err := pdhOpenQuery(nil, 0, &h); err != nil {
		return nil, pdhErr(err, "")
	}
	return &Query{h: h}, nil
}

// Add adds a counter by its English path, so it works on localized Windows.
func (q *Query) Add(path string) (*Counter, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &Error{Code: InvalidPath, Path: path, Text: "the path contains a NUL character"}
	}
	c := &Counter{Path: path, Wildcard: IsWildcard(path)}
	if err := pdhAddEnglishCounter(q.h, p, 0, &c.h); err != nil {
		return nil, pdhErr(err, path)
	}
	return c, nil
}

// Collect takes one sample of every counter. A query whose counters all lack
// data gets PDH_NO_DATA, returned as ErrNoData-matching error: each
// counter's own status then says why (Counter.Read).
func (q *Query) Collect() error {
	q.collects++
	if err := pdhCollectQueryData(q.h); err != nil {
		return pdhErr(err, "")
	}
	return nil
}

// Collects is how many samples the query has taken.
func (q *Query) Collects() int { return q.collects }

// Close releases the query and its counters.
func (q *Query) Close() error {
	if err := pdhCloseQuery(q.h); err != nil {
		return pdhErr(err, "")
	}
	return nil
}

// Read returns the counter's value after the last collect: one item for a
// plain path (named by its instance), every instance for a wildcard. An
// absent instance is an error matching ErrNoInstance; a rate counter with a
// single sample one matching ErrNotReady.
func (c *Counter) Read() ([]Item, error) {
	if c.Wildcard {
		return c.readArray()
	}
	var v fmtCounterValue
	err := pdhGetFormattedCounterValue(c.h, fmtDouble|fmtNoCap100, nil, &v)
	if err == nil && !validStatus(v.CStatus) {
		err = syscall.Errno(v.CStatus)
	} else if err != nil && !validStatus(v.CStatus) {
		err = syscall.Errno(v.CStatus) // the counter's own status says more
	}
	if err != nil {
		return nil, pdhErr(err, c.Path)
	}
	return []Item{{Instance: Parse(c.Path).Instance, Value: v.Double}}, nil
}

func (c *Counter) readArray() ([]Item, error) {
	var buf []uint64 // 8-byte aligned and not scanned by the GC
	for range 5 {    // instances may appear between the sizing call and the read
		// Size first (size 0, no buffer), then read. A read that finds the
		// buffer too small (PDH_MORE_DATA: an instance appeared meanwhile)
		// starts again from the sizing call: the size it returns then is
		// not to be relied on (PdhGetFormattedCounterArray docs).
		var size, count uint32
		err := pdhGetFormattedCounterArray(c.h, fmtDouble|fmtNoCap100, &size, &count, nil)
		var en syscall.Errno
		if errors.As(err, &en) && uint32(en) == MoreData {
			buf = make([]uint64, size/8+1)
			size = uint32(len(buf) * 8)
			err = pdhGetFormattedCounterArray(c.h, fmtDouble|fmtNoCap100, &size, &count, (*byte)(unsafe.Pointer(&buf[0])))
			if errors.As(err, &en) && uint32(en) == MoreData {
				continue
			}
		}
		if errors.As(err, &en) && uint32(en) == NoData {
			err = syscall.Errno(CStatusNoInstance) // a wildcard with no instance at all
		}
		if err != nil {
			return nil, pdhErr(err, c.Path)
		}
		if count == 0 || len(buf) == 0 {
			return nil, nil
		}
		items := unsafe.Slice((*fmtCounterValueItem)(unsafe.Pointer(&buf[0])), count)
		base := uintptr(unsafe.Pointer(&buf[0]))
		words := unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), len(buf)*4)
		out := make([]Item, 0, count)
		for _, it := range items {
			if !validStatus(it.Value.CStatus) {
				return nil, pdhErr(syscall.Errno(it.Value.CStatus), c.Path)
			}
			// Names are stored in buf after the items: read them by offset.
			off := (it.Name - base) / 2
			if it.Name < base || off >= uintptr(len(words)) {
				return nil, &Error{Code: InvalidData, Path: c.Path, Text: "an instance name points outside the buffer"}
			}
			name := windows.UTF16ToString(words[off:])
			out = append(out, Item{Instance: name, Value: it.Value.Double})
		}
		return out, nil
	}
	return nil, &Error{Code: MoreData, Path: c.Path, Text: "the instance list kept growing while it was read"}
}

func validStatus(s uint32) bool { return s == CStatusValidData || s == CStatusNewData }

// Elevated reports whether the process runs with an elevated token: an
// unelevated process can get PDH_NO_DATA for counters that do exist.
func Elevated() bool { return windows.GetCurrentProcessToken().IsElevated() }

// pdhErr turns a status returned by a PDH function into an *Error with the
// message text of pdh.dll.
func pdhErr(err error, path string) error {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return err
	}
	return &Error{Code: uint32(en), Path: path, Text: message(uint32(en))}
}

// message asks pdh.dll for the text of a status; "" if it has none.
func message(code uint32) string {
	if modpdh.Load() != nil {
		return ""
	}
	buf := make([]uint16, 512)
	n, err := windows.FormatMessage(windows.FORMAT_MESSAGE_FROM_HMODULE|windows.FORMAT_MESSAGE_IGNORE_INSERTS,
		modpdh.Handle(), code, 0, buf, nil)
	if err != nil || n == 0 {
		return ""
	}
	return windows.UTF16ToString(buf[:n])
}

// Objects lists the performance objects of machine ("" for this one).
func Objects(machine string) ([]string, error) {
	m := optPtr(machine)
	var size uint32
	for i := range 5 {
		// The sizing call passes no buffer: "Set to NULL if
		// pcchBufferSize is zero" (PdhEnumObjectsW).
		buf := make([]uint16, size)
		// Refresh the list on the first call only: each refresh rebuilds it,
		// and one that grew since the sizing call never fits.
		err := pdhEnumObjects(nil, m, first(buf), &size, detailWizard, i == 0)
		var en syscall.Errno
		if errors.As(err, &en) && uint32(en) == MoreData {
			continue
		}
		if err != nil {
			return nil, pdhErr(err, machine)
		}
		return multiSZ(buf), nil
	}
	return nil, &Error{Code: MoreData, Path: machine, Text: "the object list kept growing while it was read"}
}

// Items lists the counters and instances of one object.
func Items(machine, object string) (counters, instances []string, err error) {
	m := optPtr(machine)
	o, err := windows.UTF16PtrFromString(object)
	if err != nil {
		return nil, nil, err
	}
	var csize, isize uint32
	for range 5 {
		// A list of size 0 is passed as NULL (PdhEnumObjectItemsW).
		cbuf, ibuf := make([]uint16, csize), make([]uint16, isize)
		err := pdhEnumObjectItems(nil, m, o, first(cbuf), &csize, first(ibuf), &isize, detailWizard, 0)
		var en syscall.Errno
		if errors.As(err, &en) && uint32(en) == MoreData {
			continue
		}
		if err != nil {
			return nil, nil, pdhErr(err, object)
		}
		return multiSZ(cbuf), multiSZ(ibuf), nil
	}
	return nil, nil, &Error{Code: MoreData, Path: object, Text: "the counter list kept growing while it was read"}
}

// first is &b[0], or nil for an empty b.
func first(b []uint16) *uint16 {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}

func optPtr(s string) *uint16 {
	if s == "" {
		return nil
	}
	p, _ := windows.UTF16PtrFromString(s)
	return p
}

// multiSZ splits a list of NUL-terminated strings ending in an empty one.
func multiSZ(b []uint16) []string {
	var out []string
	for start := 0; start < len(b); {
		end := start
		for end < len(b) && b[end] != 0 {
			end++
		}
		if end == start {
			break
		}
		out = append(out, windows.UTF16ToString(b[start:end]))
		start = end + 1
	}
	return out
}
