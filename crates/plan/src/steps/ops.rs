//! The instructions a step program compiles into: flat, with jumps, `Copy`, so the engine runs
//! a program with a program counter and no allocation.

use serde::Serialize;

/// One instruction of a step program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Send a request (with its extractors, assertions and poll): an index into the requests.
    Request {
        /// The request.
        request: usize,
    },
    /// A transaction begins.
    TxnBegin {
        /// Index into the plan's transactions.
        txn: u16,
    },
    /// A transaction ends.
    TxnEnd {
        /// Index into the plan's transactions.
        txn: u16,
    },
    /// A counted loop starts: its counter is reset; with 0 passes it jumps to `end`.
    LoopInit {
        /// The user's counter slot.
        slot: u16,
        /// Passes.
        count: u32,
        /// The instruction after the loop.
        end: u32,
    },
    /// A counted loop's body ended: count the pass; back to `body` while passes remain.
    LoopBack {
        /// The counter slot.
        slot: u16,
        /// Passes.
        count: u32,
        /// The first instruction of the body.
        body: u32,
    },
    /// A `while` starts: its counter is reset.
    WhileInit {
        /// The counter slot.
        slot: u16,
    },
    /// A `while` tests its condition (and its `max`) before each pass; jumps to `end` when done.
    WhileTest {
        /// Index into the plan's conditions.
        cond: u16,
        /// The counter slot.
        slot: u16,
        /// Most passes.
        max: Option<u32>,
        /// The instruction after the loop.
        end: u32,
    },
    /// A `while` body ended: count the pass and test again.
    WhileBack {
        /// The counter slot.
        slot: u16,
        /// The `WhileTest` instruction.
        test: u32,
    },
    /// `if`: when the condition does not hold, jump to `end`.
    IfNot {
        /// Index into the plan's conditions.
        cond: u16,
        /// The instruction after the block.
        end: u32,
    },
    /// `once`: run the block only on the first pass of the enclosing loop (`slot`), or on the
    /// user's first iteration at the top level (JMeter's Once Only Controller); else jump to
    /// `end`.
    Once {
        /// The enclosing loop's counter slot.
        slot: Option<u16>,
        /// The instruction after the block.
        end: u32,
    },
    /// Go on at `to` (the end of an item of a `Pick`, `ShuffleNext` or `Switch` block).
    Jump {
        /// The next instruction.
        to: u32,
    },
    /// Run one item of a block: the user's next in turn (`interleave`; its cursor in `slot`
    /// lives across iterations), or one at random. Items start at `tables[table..table + n]`.
    Pick {
        /// One at random (else in turn).
        random: bool,
        /// Interleave: user k starts at item k - 1 (JMeter's "interleave across threads").
        across: bool,
        /// The cursor slot.
        slot: u16,
        /// Where the items' starts are in [`super::Program::tables`].
        table: u32,
        /// Items.
        n: u16,
        /// The instruction after the block.
        end: u32,
    },
    /// `random_order`: draws a new order of the `n` items (progress in `slot`).
    Shuffle {
        /// The progress slot.
        slot: u16,
        /// Items.
        n: u16,
    },
    /// `random_order`: the next item of the drawn order, or `end` when all ran.
    ShuffleNext {
        /// The progress slot.
        slot: u16,
        /// Where the items' starts are in [`super::Program::tables`].
        table: u32,
        /// Items.
        n: u16,
        /// The instruction after the block.
        end: u32,
    },
    /// A Throughput Controller: run the block this time, or jump to `end`.
    Throughput {
        /// Index into [`super::Program::gates`].
        gate: u16,
        /// The instruction after the block.
        end: u32,
    },
    /// `switch`: run the item the value names (an index from 0, or an item's name).
    Switch {
        /// Index into [`super::Program::switches`].
        switch: u16,
        /// Where the items' starts are in [`super::Program::tables`].
        table: u32,
        /// Items.
        n: u16,
        /// The instruction after the block.
        end: u32,
    },
    /// `foreach`: its counter is reset.
    ForInit {
        /// The counter slot.
        slot: u16,
    },
    /// `foreach`: sets the next value, or jumps to `end` when none is left.
    ForNext {
        /// Index into [`super::Program::foreach`].
        each: u16,
        /// The counter slot.
        slot: u16,
        /// The instruction after the loop.
        end: u32,
    },
    /// `during`: the block's deadline is set; with no time, jump to `end`.
    TimedInit {
        /// The deadline slot.
        slot: u16,
        /// How long, ms.
        ms: u32,
        /// The instruction after the block.
        end: u32,
    },
    /// `during`: before each item, the deadline is checked; past it, jump to `end`.
    TimedCheck {
        /// The deadline slot.
        slot: u16,
        /// The instruction after the block.
        end: u32,
    },
    /// `during`: the body ended; again from `body` while time remains (and the pass sent a
    /// request).
    TimedBack {
        /// The deadline slot.
        slot: u16,
        /// The first instruction of the body.
        body: u32,
    },
    /// `rendezvous`: wait until enough users arrived (or the first waiter's timeout).
    Rendezvous {
        /// Index into [`super::Program::points`].
        point: u16,
    },
}
