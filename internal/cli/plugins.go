package cli

// Packages that plug into the others from init: internal/iis adds the IIS
// built-in actions, lists the requests in flight of the iis: and aspnet:
// sources, and warns before an action that drops ASP.NET sessions.
import _ "github.com/drain-cli/drain/internal/iis"
