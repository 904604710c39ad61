package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/serve"
)

// taskType names fix-status's work in the queue.
const taskType = "fix-status:work"

// Queue is the work queue of several replicas (serve.Queue), durable in
// Redis through asynq: work queued by a replica that dies is done by
// another; work a dying replica was doing is done again once its lease
// expires. One task per work key exists at a time, so a key's work is done
// by one replica at a time; work for a key being done waits in a follow-up
// list and is queued when it ends.
type Queue struct {
	r       *Redis
	name    string
	client  *asynq.Client
	insp    *asynq.Inspector
	max     int
	timeout time.Duration
	now     func() time.Time
	onLen   func(int)

	mu     sync.Mutex
	server *asynq.Server
	size   int
	sizeAt time.Time
}

// QueueOptions configure a Queue.
type QueueOptions struct {
	// Max bounds the work queued (approximately: the size is read at most
	// once a second).
	Max int
	// Timeout bounds one piece of work (asynq's lease covers it).
	Timeout time.Duration
	Now     func() time.Time
	// OnLen is told the queue's length when read (a metric).
	OnLen func(int)
}

// Queue is the deployment's work queue.
func (r *Redis) Queue(o QueueOptions) *Queue {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnLen == nil {
		o.OnLen = func(int) {}
	}
	return &Queue{r: r, name: r.prefix + "work", client: asynq.NewClientFromRedisClient(r.rdb),
		insp: asynq.NewInspectorFromRedisClient(r.rdb), max: o.Max, timeout: o.Timeout, now: o.Now, onLen: o.OnLen}
}

// maxTaskRetry lets asynq hand work again whose replica died while doing it
// (its lease expired); the service retries failures itself.
const maxTaskRetry = 5

// Put implements serve.Queue.
func (q *Queue) Put(ctx context.Context, w serve.Work, at time.Time) error {
	for attempt := 0; attempt < 5; attempt++ {
		done, err := q.put(ctx, w, at)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: the queue kept changing under the put", w.Key())
}

// put tries once; done is false when it should try again.
func (q *Queue) put(ctx context.Context, w serve.Work, at time.Time) (bool, error) {
	full, err := q.full()
	if err != nil {
		return true, err
	}
	if full {
		// Work whose key is being done is its follow-up, however full
		// the queue.
		if info, ierr := q.insp.GetTaskInfo(q.name, w.Key()); ierr == nil && info.State == asynq.TaskStateActive {
			return true, q.followUp(ctx, w)
		}
		return true, fmt.Errorf("%s: %w (%d)", w.Key(), serve.ErrQueueFull, q.max)
	}
	err = q.enqueue(ctx, w, at)
	if err == nil {
		q.mu.Lock()
		q.size++ // counted until the size is read again
		q.mu.Unlock()
	}
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return true, err
	}
	info, err := q.insp.GetTaskInfo(q.name, w.Key())
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return false, nil // done meanwhile: enqueue again
	}
	if err != nil {
		return true, fmt.Errorf("failed to read queued work %s: %w", w.Key(), err)
	}
	if info.State == asynq.TaskStateActive {
		// Being done: its follow-up runs once, after it.
		return true, q.followUp(ctx, w)
	}
	var old serve.Work
	if err := json.Unmarshal(info.Payload, &old); err != nil {
		return true, fmt.Errorf("failed to decode queued work %s: %w", w.Key(), err)
	}
	merged, when := serve.Merge(old, w), at
	if !info.NextProcessAt.IsZero() && info.NextProcessAt.Before(when) {
		when = info.NextProcessAt
	}
	if sameWork(old, merged) && !when.Before(info.NextProcessAt) {
		return true, nil
	}
	// Queued with less than it now knows, or later than now wanted: take
	// it out and queue the merged work (it may have started meanwhile,
	// then the follow-up path runs).
	if err := q.insp.DeleteTask(q.name, w.Key()); err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) {
			return false, nil
		}
		return true, q.followUp(ctx, merged)
	}
	err = q.enqueue(ctx, merged, when)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return false, nil
	}
	return true, err
}

func sameWork(a, b serve.Work) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func (q *Queue) enqueue(ctx context.Context, w serve.Work, at time.Time) error {
	payload, err := json.Marshal(w)
	if err != nil {
		return err
	}
	opts := []asynq.Option{asynq.Queue(q.name), asynq.TaskID(w.Key()), asynq.MaxRetry(maxTaskRetry)}
	if q.timeout > 0 {
		opts = append(opts, asynq.Timeout(q.timeout))
	}
	if at.After(q.now()) {
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(taskType, payload), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("failed to queue %s: %w", w.Key(), err)
	}
	return err
}

// followUp keeps w for after the work of its key in flight.
func (q *Queue) followUp(ctx context.Context, w serve.Work) error {
	payload, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if err := q.r.rdb.RPush(ctx, q.r.key("followup", w.Key()), payload).Err(); err != nil {
		return fmt.Errorf("failed to keep follow-up work %s: %w", w.Key(), err)
	}
	return nil
}

// takeFollowUps returns the work kept for after key's, merged, if any.
func (q *Queue) takeFollowUps(ctx context.Context, key string) (*serve.Work, error) {
	k := q.r.key("followup", key)
	pipe := q.r.rdb.TxPipeline()
	lr := pipe.LRange(ctx, k, 0, -1)
	pipe.Del(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("failed to read follow-up work %s: %w", key, err)
	}
	var out *serve.Work
	for _, p := range lr.Val() {
		var w serve.Work
		if err := json.Unmarshal([]byte(p), &w); err != nil {
			return nil, fmt.Errorf("failed to decode follow-up work %s: %w", key, err)
		}
		if out == nil {
			out = &w
		} else {
			m := serve.Merge(*out, w)
			out = &m
		}
	}
	return out, nil
}

// full reports whether the queue holds its bound (read at most once a
// second).
func (q *Queue) full() (bool, error) {
	if q.max <= 0 {
		return false, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if now := q.now(); now.Sub(q.sizeAt) >= time.Second {
		n, _, err := q.counts()
		if err != nil {
			return false, err
		}
		q.size, q.sizeAt = n, now
	}
	return q.size >= q.max, nil
}

// counts reads the work queued and being done.
func (q *Queue) counts() (queued, active int, err error) {
	info, err := q.insp.GetQueueInfo(q.name)
	if err != nil {
		// asynq reports a queue nothing was put in yet with an error of
		// its internal package: tell it by the list of queues.
		if names, lerr := q.insp.Queues(); lerr == nil && !slices.Contains(names, q.name) {
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("failed to read the work queue: %w", err)
	}
	queued = info.Pending + info.Scheduled + info.Retry
	q.onLen(queued)
	return queued, info.Active, nil
}

// Run implements serve.Queue: an asynq server of n workers.
func (q *Queue) Run(ctx context.Context, n int, do func(context.Context, serve.Work)) {
	logger := zerolog.Ctx(ctx)
	srv := asynq.NewServerFromRedisClient(q.r.rdb, asynq.Config{
		Concurrency: n,
		Queues:      map[string]int{q.name: 1},
		BaseContext: func() context.Context { return ctx },
		// Scheduled work (coalescing windows, re-checks) is due within a
		// second.
		DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout:          q.timeout + 5*time.Second,
		Logger:                   asynqLogger{logger},
		LogLevel:                 asynq.WarnLevel,
	})
	handler := asynq.HandlerFunc(func(tctx context.Context, t *asynq.Task) error {
		var w serve.Work
		if err := json.Unmarshal(t.Payload(), &w); err != nil {
			logger.Error().Err(err).Msg("work of the queue cannot be decoded; dropped")
			return nil
		}
		do(tctx, w)
		next, err := q.takeFollowUps(tctx, w.Key())
		if err != nil {
			logger.Error().Err(err).Str("work", w.Key()).Msg("follow-up work lost; left to the sweep")
		}
		if next != nil {
			// Queued after this task is gone: asynq deletes it once the
			// handler returns, so queue the follow-up from a goroutine
			// that waits for that.
			go q.requeue(ctx, *next)
		}
		return nil
	})
	q.mu.Lock()
	q.server = srv
	q.mu.Unlock()
	if err := srv.Start(handler); err != nil {
		logger.Error().Err(err).Msg("the work queue's workers did not start")
	}
}

// requeue queues follow-up work once the task of its key is done: until
// then a Put would only keep it as a follow-up of the task that just took
// them. Once the task is gone, a task of the key that is active again is
// another replica's, whose follow-ups this becomes.
func (q *Queue) requeue(ctx context.Context, w serve.Work) {
	logger := zerolog.Ctx(ctx)
	for i := 0; i < 500; i++ {
		info, err := q.insp.GetTaskInfo(q.name, w.Key())
		if errors.Is(err, asynq.ErrTaskNotFound) || (err == nil && info.State != asynq.TaskStateActive) {
			if err := q.Put(ctx, w, q.now()); err != nil {
				logger.Error().Err(err).Str("work", w.Key()).Msg("follow-up work cannot be queued; left to the sweep")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	logger.Error().Str("work", w.Key()).Msg("follow-up work not queued: its task did not end; left to the sweep")
}

// Close implements serve.Queue: the workers finish what they are doing;
// queued work stays in Redis for the next replica to do.
func (q *Queue) Close(context.Context) error {
	q.mu.Lock()
	srv := q.server
	q.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
	}
	return q.client.Close()
}

// Len implements serve.Queue.
func (q *Queue) Len() int {
	n, _, _ := q.counts()
	return n
}

// Idle implements serve.Queue.
func (q *Queue) Idle() bool {
	n, active, err := q.counts()
	return err == nil && n == 0 && active == 0
}

// Remove implements serve.Queue: work of key k scheduled for later is
// deleted; work due or being done is left.
func (q *Queue) Remove(k string) {
	if info, err := q.insp.GetTaskInfo(q.name, k); err == nil && info.State == asynq.TaskStateScheduled {
		_ = q.insp.DeleteTask(q.name, k)
	}
}

// asynqLogger sends asynq's log lines to zerolog.
type asynqLogger struct{ l *zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
