//! A restricted, safe pickle reader: a small stack machine that understands
//! only the opcodes `torch.save` emits (protocol 2, as listed in CPython's
//! `pickletools`) and builds a [`Value`] tree.
//!
//! Nothing is ever executed. `GLOBAL` opcodes are recorded as names and
//! checked against [`ALLOWED_GLOBALS`]; `REDUCE`/`NEWOBJ`/`BUILD` on them
//! produce inert [`Value::Object`] nodes that [`crate::tensors`] and
//! [`crate::hparams`] interpret. Unknown opcodes and globals fail with an
//! error naming them. Containers are copied rather than shared, so a hostile
//! pickle cannot build cycles; sizes are bounded by the input length.

use crate::error::InteropError;

/// Globals a GPT-SoVITS `.pth` may reference: containers, torch's tensor
/// rebuild functions and storage classes, and `utils.HParams`.
pub const ALLOWED_GLOBALS: &[&str] = &[
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.FloatStorage",
    "torch.DoubleStorage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "utils.HParams",
];

/// How an [`Value::Object`] was constructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Construct {
    /// `REDUCE`: `callable(*args)`.
    Reduce,
    /// `NEWOBJ`: `cls.__new__(cls, *args)` (plain Python class instances).
    NewObj,
}

/// A decoded pickle value. Objects stay inert descriptions.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A float (pickled as a big-endian f64).
    Float(f64),
    /// A str.
    Str(String),
    /// A bytes object.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list.
    List(Vec<Value>),
    /// A dict; `ordered` marks a `collections.OrderedDict`. Insertion order kept.
    Dict {
        /// Whether it was an `OrderedDict`.
        ordered: bool,
        /// Key/value pairs in insertion order.
        items: Vec<(Value, Value)>,
    },
    /// A reference to a global `module.name` (never resolved).
    Global(String),
    /// `class(*args)` with an optional `BUILD` state, never executed.
    Object {
        /// Dotted name of the allowed global that was called.
        class: String,
        /// How it was constructed.
        construct: Construct,
        /// Positional arguments.
        args: Vec<Value>,
        /// State given by `BUILD`, if any.
        state: Option<Box<Value>>,
    },
    /// A persistent id (`BINPERSID`): torch's storage reference tuple.
    PersistentId(Box<Value>),
}

impl Value {
    /// Looks up `key` in a dict with string keys.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict { items, .. } => {
                items.iter().find(|(k, _)| matches!(k, Value::Str(s) if s == key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// The string keys of a dict, in order (non-string keys are skipped).
    pub fn str_keys(&self) -> Vec<&str> {
        match self {
            Value::Dict { items, .. } => items
                .iter()
                .filter_map(|(k, _)| if let Value::Str(s) = k { Some(s.as_str()) } else { None })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict { .. } => "dict",
            Value::Global(_) => "global",
            Value::Object { .. } => "object",
            Value::PersistentId(_) => "persistent id",
        }
    }
}

/// What [`parse`] returns: the value plus every global it referenced.
#[derive(Debug, Clone)]
pub struct Pickle {
    /// The unpickled tree.
    pub value: Value,
    /// Every `GLOBAL` seen, in first-seen order, without duplicates.
    pub globals: Vec<String>,
}

/// One stack entry: a value and the memo slots it was stored in, so that
/// later in-place mutation (`SETITEMS`, `APPENDS`, `BUILD`) reaches the memo.
struct Slot {
    value: Value,
    memo: Vec<u32>,
}

enum Item {
    Mark,
    Val(Slot),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    memo: std::collections::HashMap<u32, Value>,
    globals: Vec<String>,
    what: &'a str,
}

/// Upper bound on the stack and memo, far above what torch emits.
const MAX_ENTRIES: usize = 50_000_000;

/// Parses `data` (the bytes of `data.pkl`); `what` names the source in errors.
pub fn parse(data: &[u8], what: &str) -> Result<Pickle, InteropError> {
    let mut m = Machine { data, pos: 0, stack: Vec::new(), memo: Default::default(), globals: Vec::new(), what };
    let value = m.run()?;
    Ok(Pickle { value, globals: m.globals })
}

impl<'a> Machine<'a> {
    fn err(&self, at: usize, msg: impl Into<String>) -> InteropError {
        InteropError::Pickle { what: self.what.to_string(), offset: at, message: msg.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], InteropError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(e) => {
                let s = &self.data[self.pos..e];
                self.pos = e;
                Ok(s)
            }
            None => Err(self.err(self.pos, format!("truncated: needs {n} more byte(s), {} left", self.data.len() - self.pos))),
        }
    }

    fn u8(&mut self) -> Result<u8, InteropError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, InteropError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, InteropError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, InteropError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn line(&mut self) -> Result<String, InteropError> {
        let start = self.pos;
        let rest = &self.data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.err(start, "unterminated GLOBAL name"))?;
        self.pos += n + 1;
        String::from_utf8(rest[..n].to_vec()).map_err(|_| self.err(start, "GLOBAL name is not UTF-8"))
    }

    fn string(&mut self, n: usize) -> Result<Value, InteropError> {
        let at = self.pos;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map(Value::Str).map_err(|_| self.err(at, "string is not valid UTF-8"))
    }

    fn push(&mut self, value: Value) -> Result<(), InteropError> {
        if self.stack.len() >= MAX_ENTRIES {
            return Err(self.err(self.pos, "stack too deep"));
        }
        self.stack.push(Item::Val(Slot { value, memo: Vec::new() }));
        Ok(())
    }

    fn pop(&mut self, at: usize) -> Result<Slot, InteropError> {
        match self.stack.pop() {
            Some(Item::Val(s)) => Ok(s),
            Some(Item::Mark) => Err(self.err(at, "unexpected MARK on the stack")),
            None => Err(self.err(at, "stack underflow")),
        }
    }

    /// Pops everything above the topmost MARK (and the MARK).
    fn pop_mark(&mut self, at: usize) -> Result<Vec<Value>, InteropError> {
        let i = self
            .stack
            .iter()
            .rposition(|x| matches!(x, Item::Mark))
            .ok_or_else(|| self.err(at, "no MARK on the stack"))?;
        let items = self.stack.split_off(i + 1);
        self.stack.pop();
        Ok(items.into_iter().filter_map(|x| if let Item::Val(s) = x { Some(s.value) } else { None }).collect())
    }

    fn top(&mut self, at: usize) -> Result<&mut Slot, InteropError> {
        match self.stack.last_mut() {
            Some(Item::Val(s)) => Ok(s),
            _ => Err(InteropError::Pickle { what: self.what.to_string(), offset: at, message: "stack underflow".into() }),
        }
    }

    /// Copies the (mutated) top value into the memo slots it was stored in.
    fn sync_top(&mut self) {
        if let Some(Item::Val(s)) = self.stack.last() {
            for k in &s.memo {
                self.memo.insert(*k, s.value.clone());
            }
        }
    }

    fn memo_put(&mut self, key: u32, at: usize) -> Result<(), InteropError> {
        if self.memo.len() >= MAX_ENTRIES {
            return Err(self.err(at, "memo too large"));
        }
        let slot = self.top(at)?;
        slot.memo.push(key);
        let v = slot.value.clone();
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u32, at: usize) -> Result<(), InteropError> {
        let v = self.memo.get(&key).cloned().ok_or_else(|| self.err(at, format!("memo key {key} was never stored")))?;
        self.push(v)
    }

    fn set_items(&mut self, pairs: Vec<Value>, at: usize) -> Result<(), InteropError> {
        if !pairs.len().is_multiple_of(2) {
            return Err(self.err(at, "SETITEMS with an odd number of items"));
        }
        let slot = self.top(at)?;
        let Value::Dict { items, .. } = &mut slot.value else {
            let kind = slot.value.kind();
            return Err(self.err(at, format!("SETITEM(S) on a {kind}, expected a dict")));
        };
        let mut it = pairs.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            if let Some(e) = items.iter_mut().find(|(ek, _)| *ek == k) {
                e.1 = v;
            } else {
                items.push((k, v));
            }
        }
        self.sync_top();
        Ok(())
    }

    fn append(&mut self, values: Vec<Value>, at: usize) -> Result<(), InteropError> {
        let slot = self.top(at)?;
        let Value::List(list) = &mut slot.value else {
            let kind = slot.value.kind();
            return Err(self.err(at, format!("APPEND(S) on a {kind}, expected a list")));
        };
        list.extend(values);
        self.sync_top();
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str, at: usize) -> Result<(), InteropError> {
        let full = format!("{module}.{name}");
        if !ALLOWED_GLOBALS.contains(&full.as_str()) {
            return Err(self.err(
                at,
                format!("refusing pickle global `{full}`: only tensor, OrderedDict and utils.HParams globals are allowed (nothing is executed)"),
            ));
        }
        if !self.globals.contains(&full) {
            self.globals.push(full.clone());
        }
        self.push(Value::Global(full))
    }

    fn call(&mut self, construct: Construct, at: usize) -> Result<(), InteropError> {
        let args = self.pop(at)?.value;
        let callable = self.pop(at)?.value;
        let Value::Global(class) = callable else {
            return Err(self.err(at, format!("REDUCE/NEWOBJ on a {}, expected a global", callable.kind())));
        };
        let Value::Tuple(args) = args else {
            return Err(self.err(at, format!("arguments of `{class}` are a {}, expected a tuple", args.kind())));
        };
        let value = if class == "collections.OrderedDict" {
            match args.as_slice() {
                [] => Value::Dict { ordered: true, items: Vec::new() },
                _ => return Err(self.err(at, "OrderedDict called with arguments; only OrderedDict() is supported")),
            }
        } else {
            Value::Object { class, construct, args, state: None }
        };
        self.push(value)
    }

    fn build(&mut self, at: usize) -> Result<(), InteropError> {
        let state = self.pop(at)?.value;
        let slot = self.top(at)?;
        match &mut slot.value {
            Value::Object { state: s, .. } => *s = Some(Box::new(state)),
            // An OrderedDict's instance attributes (a state_dict's `_metadata`):
            // version bookkeeping only, not needed to rebuild tensors.
            Value::Dict { .. } => {}
            other => {
                let kind = other.kind();
                return Err(self.err(at, format!("BUILD on a {kind}")));
            }
        }
        self.sync_top();
        Ok(())
    }

    fn run(&mut self) -> Result<Value, InteropError> {
        loop {
            let at = self.pos;
            let op = self.u8().map_err(|_| self.err(at, "truncated: no STOP opcode"))?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return Err(self.err(at, format!("unsupported pickle protocol {p}")));
                    }
                }
                0x95 => {
                    self.u64()?;
                }
                b'.' => {
                    let v = self.pop(at)?;
                    return Ok(v.value);
                }
                b'(' => self.stack.push(Item::Mark),
                b'}' => self.push(Value::Dict { ordered: false, items: Vec::new() })?,
                b']' => self.push(Value::List(Vec::new()))?,
                b')' => self.push(Value::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::Tuple(items))?;
                }
                b'l' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::List(items))?;
                }
                b'd' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::Dict { ordered: false, items: Vec::new() })?;
                    self.set_items(items, at)?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop(at)?.value);
                    }
                    items.reverse();
                    self.push(Value::Tuple(items))?;
                }
                b's' => {
                    let v = self.pop(at)?.value;
                    let k = self.pop(at)?.value;
                    self.set_items(vec![k, v], at)?;
                }
                b'u' => {
                    let items = self.pop_mark(at)?;
                    self.set_items(items, at)?;
                }
                b'a' => {
                    let v = self.pop(at)?.value;
                    self.append(vec![v], at)?;
                }
                b'e' => {
                    let items = self.pop_mark(at)?;
                    self.append(items, at)?;
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let v = self.string(n)?;
                    self.push(v)?;
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.string(n)?;
                    self.push(v)?;
                }
                0x8d => {
                    let n = usize::try_from(self.u64()?).map_err(|_| self.err(at, "string length overflows"))?;
                    let v = self.string(n)?;
                    self.push(v)?;
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b))?;
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b))?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64))?;
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64))?;
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64))?;
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(self.err(at, format!("integer of {n} bytes does not fit in 64 bits")));
                    }
                    let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) { 0xff } else { 0 };
                    let mut a = [fill; 8];
                    a[..n].copy_from_slice(b);
                    self.push(Value::Int(i64::from_le_bytes(a)))?;
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(a)))?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(&module, &name, at)?;
                }
                0x93 => {
                    let name = self.pop(at)?.value;
                    let module = self.pop(at)?.value;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.global(&m, &n, at)?,
                        _ => return Err(self.err(at, "STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => self.call(Construct::Reduce, at)?,
                0x81 => self.call(Construct::NewObj, at)?,
                b'b' => self.build(at)?,
                b'Q' => {
                    let pid = self.pop(at)?.value;
                    self.push(Value::PersistentId(Box::new(pid)))?;
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k, at)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k, at)?;
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    self.memo_put(k, at)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    self.memo_get(k, at)?;
                }
                b'j' => {
                    let k = self.u32()?;
                    self.memo_get(k, at)?;
                }
                b'0' => {
                    self.pop(at)?;
                }
                b'1' => {
                    self.pop_mark(at)?;
                }
                b'2' => {
                    let v = self.top(at)?.value.clone();
                    self.push(v)?;
                }
                other => {
                    return Err(self.err(at, format!("unsupported pickle opcode 0x{other:02x} ({:?})", other as char)));
                }
            }
        }
    }
}
