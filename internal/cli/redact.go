package cli

import (
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/redact"
)

// redactEvent hides the user info of URLs in every text of an event before
// it is shown, written as JSON or sent to the audit log: a source's name or
// error, a message quoting a reason, the action's command line.
func redactEvent(e drain.Event) drain.Event {
	e.Target = redact.String(e.Target)
	e.Message = redact.String(e.Message)
	e.Action = redact.String(e.Action)
	e.Error = redact.String(e.Error)
	e.Hint = redact.String(e.Hint)
	if len(e.Sources) > 0 {
		rs := make([]drain.Reading, len(e.Sources))
		for i, r := range e.Sources {
			r.Source, r.Name, r.Error, r.Note = redact.String(r.Source), redact.String(r.Name), redact.String(r.Error), redact.String(r.Note)
			rs[i] = r
		}
		e.Sources = rs
	}
	if len(e.Blocking) > 0 {
		bs := make([]string, len(e.Blocking))
		for i, b := range e.Blocking {
			bs[i] = redact.String(b)
		}
		e.Blocking = bs
	}
	if len(e.Requests) > 0 {
		rq := make([]drain.Request, len(e.Requests))
		for i, r := range e.Requests {
			r.URL = redact.String(r.URL)
			rq[i] = r
		}
		e.Requests = rq
	}
	return e
}

// redactStatus does the same for a status report, including the reason of
// a record that an older drain wrote before reasons were redacted.
func redactStatus(rep statusReport) statusReport {
	ev := redactEvent(drain.Event{Target: rep.Target, Message: rep.Error, Sources: rep.Sources, Requests: rep.Requests, Error: rep.RequestsError})
	rep.Target, rep.Error, rep.Sources, rep.Requests, rep.RequestsError = ev.Target, ev.Message, ev.Sources, ev.Requests, ev.Error
	if rep.Record != nil {
		rec := *rep.Record
		rec.Reason = redact.String(rec.Reason)
		rep.Record = &rec
	}
	return rep
}
