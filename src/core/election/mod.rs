//! Where the failover leader is elected, in one place: a master becomes objectively down
//! (`odown`), peers are asked for their view and, during our failover, their vote (`ask`),
//! votes are cast and served (`vote`), and counted (`tally`).
//!
//! Safety rests on two rules kept here: a sentinel votes at most once per epoch, and its vote
//! is on disk before anyone hears of it (`vote`, with `output` holding the answer back); a
//! leader needs a majority of all known sentinels *and* at least quorum votes, all cast in
//! the election's own epoch (`tally`). The failover (`failover`) acts only for the leader.

pub(crate) mod ask;
pub(crate) mod odown;
pub(crate) mod tally;
pub(crate) mod vote;
