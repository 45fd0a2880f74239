package svahub

import (
	"context"
	"database/sql"
)

// Sealer encrypts secrets at rest (client secrets, access tokens, service
// passwords). Implemented by internal/secret.
type Sealer interface {
	// Seal encrypts plaintext; the empty string seals to the empty string.
	Seal(plaintext string) (string, error)
	// Open decrypts what Seal produced.
	Open(sealed string) (string, error)
}

// ConvergeJobKind is the job kind of a PlanJob in the job queue (River's
// river_job.kind); its arguments are {"plan_id", "version"}.
const ConvergeJobKind = "converge_plan"

// PlanJob asks the provisioning engine to converge one platform plan to
// the desired state of the given version.
type PlanJob struct {
	PlanID  int64
	Version int64
}

// JobQueue inserts provisioning work inside the caller's transaction, so a
// domain change and its platform work commit or vanish together.
type JobQueue interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, jobs []PlanJob) error
}
