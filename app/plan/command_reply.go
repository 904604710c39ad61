package plan

import (
	"fmt"
	"time"
)

// CommandTooSoon is the reply to a /fix-status refused because it ran on
// the PR less than a minute before: why, and when it may run again.
func CommandTooSoon(commenter string, next time.Time) string {
	return fmt.Sprintf("@%s /fix-status ran on this pull request less than a minute ago; it can run again at %s.\n",
		commenter, next.UTC().Format("15:04:05 UTC"))
}
