-- The effect worker reads a lane's pending effects oldest first and stops at the first few that head
-- their flow; this index holds them in that order, so it no longer groups every pending effect of
-- the lane on each look (a Slack outage or a burst of deploys leaves hundreds pending).
CREATE INDEX effects_pending_in_order ON effects (lane, status, id);
