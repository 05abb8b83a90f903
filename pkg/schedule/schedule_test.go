package schedule

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name        string
		cron        *arcv1.Cron
		minInterval time.Duration
		// wantErr lists parts of the message; none means valid.
		wantErr []string
	}{
		{name: "no schedule at all is fine", cron: nil},
		{name: "daily at three", cron: &arcv1.Cron{Schedules: []string{"0 3 * * *"}}},
		{name: "every ten minutes meets the default minimum exactly", cron: &arcv1.Cron{Schedules: []string{"*/10 * * * *"}}},
		{name: "a descriptor", cron: &arcv1.Cron{Schedules: []string{"@hourly"}}},
		{name: "a time zone", cron: &arcv1.Cron{Schedules: []string{"0 3 * * *"}, Timezone: "Europe/Berlin"}},
		{name: "two schedules far apart", cron: &arcv1.Cron{Schedules: []string{"0 3 * * *", "0 15 * * 1-5"}}},
		{name: "every minute with a lowered minimum", cron: &arcv1.Cron{Schedules: []string{"* * * * *"}}, minInterval: time.Minute},
		{
			name:    "empty list",
			cron:    &arcv1.Cron{},
			wantErr: []string{"cron.schedules is empty"},
		},
		{
			name:    "too many schedules",
			cron:    &arcv1.Cron{Schedules: slices.Repeat([]string{"0 3 * * *"}, arcv1.MaxSchedules+1)},
			wantErr: []string{"has 9 entries, at most 8"},
		},
		{
			name:    "six fields (seconds) are not standard cron",
			cron:    &arcv1.Cron{Schedules: []string{"0 0 3 * * *"}},
			wantErr: []string{`cron.schedules[0] "0 0 3 * * *": not a cron expression`, "five fields"},
		},
		{
			name:    "a minute out of range",
			cron:    &arcv1.Cron{Schedules: []string{"0 3 * * *", "61 * * * *"}},
			wantErr: []string{`cron.schedules[1] "61 * * * *"`},
		},
		{
			name:    "every bad schedule is named",
			cron:    &arcv1.Cron{Schedules: []string{"nonsense", "also nonsense"}},
			wantErr: []string{`cron.schedules[0] "nonsense"`, `cron.schedules[1] "also nonsense"`},
		},
		{
			name:    "a time zone inside the schedule",
			cron:    &arcv1.Cron{Schedules: []string{"CRON_TZ=Asia/Tokyo 0 3 * * *"}},
			wantErr: []string{"may not name a time zone: set cron.timezone"},
		},
		{
			name:    "an unknown time zone",
			cron:    &arcv1.Cron{Schedules: []string{"0 3 * * *"}, Timezone: "Mars/Olympus_Mons"},
			wantErr: []string{`cron.timezone "Mars/Olympus_Mons" is not a time zone`},
		},
		{
			name:    "Local depends on the machine and is refused",
			cron:    &arcv1.Cron{Schedules: []string{"0 3 * * *"}, Timezone: "Local"},
			wantErr: []string{`cron.timezone "Local"`},
		},
		{
			name:    "every minute is below the default minimum",
			cron:    &arcv1.Cron{Schedules: []string{"* * * * *"}},
			wantErr: []string{"run 1m0s apart", "less than the minimum of 10m0s"},
		},
		{
			name: "every five minutes says where and by how much",
			cron: &arcv1.Cron{Schedules: []string{"*/5 * * * *"}},
			wantErr: []string{"the schedules run 5m0s apart (at Thu 2024-12-26 00:05:00 UTC and 00:10:00), " +
				"less than the minimum of 10m0s between two runs: run less often"},
		},
		{
			name:    "every few seconds",
			cron:    &arcv1.Cron{Schedules: []string{"@every 30s"}},
			wantErr: []string{"run 30s apart"},
		},
		{
			name:    "two hours of five-minute runs in an otherwise quiet day",
			cron:    &arcv1.Cron{Schedules: []string{"*/5 2-3 * * *"}},
			wantErr: []string{"run 5m0s apart"},
		},
		{
			name:    "two schedules that are each fine but run a minute apart together",
			cron:    &arcv1.Cron{Schedules: []string{"0 3 * * *", "1 3 * * *"}},
			wantErr: []string{"run 1m0s apart"},
		},
		{
			name:    "month end and month start a minute apart",
			cron:    &arcv1.Cron{Schedules: []string{"59 23 31 * *", "0 0 1 * *"}},
			wantErr: []string{"run 1m0s apart"},
		},
		{
			name:        "a raised minimum refuses an hourly schedule",
			cron:        &arcv1.Cron{Schedules: []string{"@hourly"}},
			minInterval: 2 * time.Hour,
			wantErr:     []string{"run 1h0m0s apart", "less than the minimum of 2h0m0s"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			minInterval := tc.minInterval
			if minInterval == 0 {
				minInterval = DefaultMinInterval
			}
			err := Validate(tc.cron, minInterval)
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestSharedTimesAreOneRun(t *testing.T) {
	// Both fire at 03:00 daily; Argo names a run after its time, so that is
	// one run a day, not two runs 0 s apart.
	require.NoError(t, Validate(&arcv1.Cron{Schedules: []string{"0 3 * * *", "0 3 * * *"}}, DefaultMinInterval))
}

func TestDescribe(t *testing.T) {
	cases := []struct {
		name string
		cron *arcv1.Cron
		want string
	}{
		{name: "nothing", cron: nil, want: ""},
		{name: "policy defaults to Allow", cron: &arcv1.Cron{Schedules: []string{"0 3 * * *"}}, want: `"0 3 * * *", concurrencyPolicy Allow`},
		{
			name: "every part",
			cron: &arcv1.Cron{Schedules: []string{"0 3 * * *", "@hourly"}, Timezone: "UTC", ConcurrencyPolicy: arcv1.ConcurrencyForbid},
			want: `"0 3 * * *", "@hourly" in UTC, concurrencyPolicy Forbid`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Describe(tc.cron))
		})
	}
}
