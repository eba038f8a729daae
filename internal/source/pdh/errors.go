package pdh

import (
	"fmt"
	"strings"
)

// PDH status codes (pdhmsg.h) that drain tells apart.
const (
	CStatusValidData    uint32 = 0x00000000 // PDH_CSTATUS_VALID_DATA
	CStatusNewData      uint32 = 0x00000001 // PDH_CSTATUS_NEW_DATA
	CStatusNoMachine    uint32 = 0x800007D0 // PDH_CSTATUS_NO_MACHINE
	CStatusNoInstance   uint32 = 0x800007D1 // PDH_CSTATUS_NO_INSTANCE
	MoreData            uint32 = 0x800007D2 // PDH_MORE_DATA
	NoData              uint32 = 0x800007D5 // PDH_NO_DATA
	CStatusNoObject     uint32 = 0xC0000BB8 // PDH_CSTATUS_NO_OBJECT
	CStatusNoCounter    uint32 = 0xC0000BB9 // PDH_CSTATUS_NO_COUNTER
	CStatusInvalidData  uint32 = 0xC0000BBA // PDH_CSTATUS_INVALID_DATA
	CStatusBadCounter   uint32 = 0xC0000BC0 // PDH_CSTATUS_BAD_COUNTERNAME
	CannotConnect       uint32 = 0xC0000BC3 // PDH_CANNOT_CONNECT_MACHINE
	InvalidPath         uint32 = 0xC0000BC4 // PDH_INVALID_PATH
	InvalidData         uint32 = 0xC0000BC6 // PDH_INVALID_DATA
	InsufficientBuffer  uint32 = 0xC0000BC2 // PDH_INSUFFICIENT_BUFFER
	CStatusNoCounterNam uint32 = 0xC0000BBF // PDH_CSTATUS_NO_COUNTERNAME
)

var names = map[uint32]string{
	CStatusNoMachine:    "PDH_CSTATUS_NO_MACHINE",
	CStatusNoInstance:   "PDH_CSTATUS_NO_INSTANCE",
	MoreData:            "PDH_MORE_DATA",
	NoData:              "PDH_NO_DATA",
	CStatusNoObject:     "PDH_CSTATUS_NO_OBJECT",
	CStatusNoCounter:    "PDH_CSTATUS_NO_COUNTER",
	CStatusInvalidData:  "PDH_CSTATUS_INVALID_DATA",
	CStatusBadCounter:   "PDH_CSTATUS_BAD_COUNTERNAME",
	CannotConnect:       "PDH_CANNOT_CONNECT_MACHINE",
	InvalidPath:         "PDH_INVALID_PATH",
	InvalidData:         "PDH_INVALID_DATA",
	InsufficientBuffer:  "PDH_INSUFFICIENT_BUFFER",
	CStatusNoCounterNam: "PDH_CSTATUS_NO_COUNTERNAME",
}

// Error is a PDH status for one counter path (or for a query when Path is
// empty). Text is pdh.dll's own message when it has one.
type Error struct {
	Code uint32
	Path string
	Text string
}

func (e *Error) Error() string {
	code := fmt.Sprintf("0x%08X", e.Code)
	if n, ok := names[e.Code]; ok {
		code = n + " " + code
	}
	text := strings.TrimRight(strings.TrimSpace(e.Text), ".")
	if text == "" {
		text = "PDH error"
	}
	if e.Path == "" {
		return fmt.Sprintf("%s (%s)", text, code)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Path, text, code)
}

// Is matches errors by status code, so errors.Is(err, pdh.ErrNoInstance) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Path == ""
}

// Sentinels for errors.Is.
var (
	ErrNoInstance  = &Error{Code: CStatusNoInstance}  // instance absent: idle
	ErrNoData      = &Error{Code: NoData}             // nothing in the query has data
	ErrNotReady    = &Error{Code: CStatusInvalidData} // a rate counter needs a second sample
	ErrNoObject    = &Error{Code: CStatusNoObject}
	ErrNoCounter   = &Error{Code: CStatusNoCounter}
	ErrInvalidData = &Error{Code: InvalidData}
)
