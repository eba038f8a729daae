package source

import (
	"fmt"
	"net/http/httptest"
	"testing"
)

// stubPage renders a stub_status page as nginx writes it (trailing spaces
// included).
func stubPage(st stubStatus) string {
	return fmt.Sprintf("Active connections: %d \nserver accepts handled requests\n %d %d %d \nReading: %d Writing: %d Waiting: %d \n",
		st.active, st.accepts, st.handled, st.requests, st.reading, st.writing, st.waiting)
}

func TestParseStubStatus(t *testing.T) {
	full := stubStatus{active: 291, accepts: 16630948, handled: 16630947, requests: 31070465, reading: 6, writing: 179, waiting: 106}
	cases := []struct {
		name    string
		body    string
		want    stubStatus
		wantErr string
	}{
		{name: "nginx output", body: stubPage(full), want: full},
		{
			name: "CRLF, no final newline, extra spaces",
			body: "Active connections:  3\r\nserver accepts handled requests\r\n  1  2  3\r\nReading: 0  Writing: 1  Waiting: 2",
			want: stubStatus{active: 3, accepts: 1, handled: 2, requests: 3, writing: 1, waiting: 2},
		},
		{
			name: "fork with an extra column and line",
			body: "Active connections: 1\nserver accepts handled requests request_time\n 5 5 9 1234\nReading: 0 Writing: 1 Waiting: 0\nextra: 7\n",
			want: stubStatus{active: 1, accepts: 5, handled: 5, requests: 9, writing: 1},
		},
		{name: "empty", body: "", wantErr: "not an nginx stub_status page"},
		{name: "html", body: "<html><body>Welcome to nginx!</body></html>", wantErr: "not an nginx stub_status page"},
		{
			name:    "no Reading line",
			body:    "Active connections: 1\nserver accepts handled requests\n 1 1 1\n",
			wantErr: `no "Reading: Writing: Waiting:" line`,
		},
		{
			name:    "no counters",
			body:    "Active connections: 1\nReading: 0 Writing: 1 Waiting: 0\n",
			wantErr: `no "server accepts handled requests" lines`,
		},
		{
			name:    "no active line",
			body:    "server accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n",
			wantErr: `no "Active connections:" line`,
		},
		{
			name:    "counters missing at end",
			body:    "Active connections: 1\nserver accepts handled requests",
			wantErr: "no numbers after",
		},
		{
			name:    "too few counters",
			body:    "Active connections: 1\nserver accepts handled requests\n 1 1\nReading: 0 Writing: 1 Waiting: 0\n",
			wantErr: "want 3 numbers",
		},
		{
			name:    "negative",
			body:    "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: -1 Waiting: 0\n",
			wantErr: `Writing "-1" is not a count`,
		},
		{
			name:    "not a number",
			body:    "Active connections: many\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n",
			wantErr: `Active connections "many" is not a count`,
		},
		{
			name:    "scrambled Reading line",
			body:    "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Waiting: 1 Writing: 0\n",
			wantErr: "bad line",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStubStatus([]byte(tc.body))
			checkErr(t, err, tc.wantErr)
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNginxRead(t *testing.T) {
	cases := []struct {
		name             string
		reading, writing uint64
		want             float64
	}{
		{"idle: only the status request", 0, 1, 0},
		{"busy", 2, 5, 6},
		{"never negative", 0, 0, 0},
		{"reading only", 3, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(serve(stubPage(stubStatus{active: 50, reading: tc.reading, writing: tc.writing, waiting: 40})))
			defer srv.Close()
			got, err := readOnce(newSource(t, "nginx:"+srv.URL+"/nginx_status", Options{}))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzStubStatus checks that parseStubStatus never panics and that what it
// accepts, written back as nginx would, reads the same.
func FuzzStubStatus(f *testing.F) {
	f.Add([]byte(stubPage(stubStatus{active: 291, accepts: 1, handled: 1, requests: 2, reading: 6, writing: 179, waiting: 106})))
	f.Add([]byte("Active connections: 1\nserver accepts handled requests\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := parseStubStatus(body)
		if err != nil {
			return
		}
		again, err := parseStubStatus([]byte(stubPage(st)))
		if err != nil || again != st {
			t.Fatalf("%+v re-read as %+v, %v", st, again, err)
		}
	})
}
