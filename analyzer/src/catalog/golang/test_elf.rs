//! Builds small ELF files for tests: one writable load segment holding the payload, and
//! optionally a section table naming parts of it. 32/64-bit, either byte order.

/// A section to place in the payload, 16-aligned.
pub(crate) struct Section<'a> {
    pub(crate) name: &'a str,
    pub(crate) data: &'a [u8],
}

pub(crate) struct ElfSpec<'a> {
    pub(crate) is_64: bool,
    pub(crate) big_endian: bool,
    /// Virtual address of file offset 0; the payload starts at file offset `PAYLOAD_OFFSET`.
    pub(crate) base: u64,
    /// Bytes that start the payload (before any section data).
    pub(crate) payload: &'a [u8],
    pub(crate) sections: &'a [Section<'a>],
    /// Emit a section table (with `.shstrtab`); `false` is what `sstrip` leaves.
    pub(crate) section_table: bool,
}

pub(crate) const PAYLOAD_OFFSET: u64 = 0x200;

struct W {
    out: Vec<u8>,
    is_64: bool,
    big_endian: bool,
}

impl W {
    fn int(&mut self, v: u64, n: usize) {
        let bytes = v.to_be_bytes();
        let b = &bytes[8 - n..];
        if self.big_endian {
            self.out.extend_from_slice(b);
        } else {
            self.out.extend(b.iter().rev());
        }
    }
    fn half(&mut self, v: u64) {
        self.int(v, 2);
    }
    fn word(&mut self, v: u64) {
        self.int(v, 4);
    }
    fn addr(&mut self, v: u64) {
        let n = if self.is_64 { 8 } else { 4 };
        self.int(v, n);
    }
    fn pad_to(&mut self, at: u64) {
        let at = at as usize;
        assert!(self.out.len() <= at, "layout overlap");
        self.out.resize(at, 0);
    }
}

/// The ELF file and the file offset of each section's data.
pub(crate) fn build(spec: &ElfSpec<'_>) -> (Vec<u8>, Vec<u64>) {
    let align = |x: u64| x.div_ceil(16) * 16;
    let mut section_offsets = Vec::new();
    let mut at = PAYLOAD_OFFSET + spec.payload.len() as u64;
    for s in spec.sections {
        at = align(at);
        section_offsets.push(at);
        at += s.data.len() as u64;
    }
    let mut shstrtab = vec![0u8];
    let mut name_offsets = Vec::new();
    for s in spec.sections.iter().map(|s| s.name).chain([".shstrtab"]) {
        name_offsets.push(shstrtab.len() as u64);
        shstrtab.extend_from_slice(s.as_bytes());
        shstrtab.push(0);
    }
    let shstrtab_off = align(at);
    let shoff = align(shstrtab_off + shstrtab.len() as u64);
    let load_end = shstrtab_off;

    let mut w = W {
        out: Vec::new(),
        is_64: spec.is_64,
        big_endian: spec.big_endian,
    };
    let (ehsize, phentsize, shentsize) = if spec.is_64 {
        (64, 56, 64)
    } else {
        (52, 32, 40)
    };
    w.out.extend_from_slice(b"\x7fELF");
    w.out.push(if spec.is_64 { 2 } else { 1 });
    w.out.push(if spec.big_endian { 2 } else { 1 });
    w.out.push(1);
    w.out.resize(16, 0);
    w.half(2); // ET_EXEC
    // EM_S390, EM_MIPS, EM_X86_64, EM_386
    w.half(match (spec.is_64, spec.big_endian) {
        (true, true) => 22,
        (false, true) => 8,
        (true, false) => 62,
        (false, false) => 3,
    });
    w.word(1);
    w.addr(spec.base + PAYLOAD_OFFSET);
    w.addr(ehsize);
    w.addr(if spec.section_table { shoff } else { 0 });
    w.word(0);
    w.half(ehsize);
    w.half(phentsize);
    w.half(1);
    w.half(shentsize);
    let shnum = if spec.section_table {
        spec.sections.len() as u64 + 2
    } else {
        0
    };
    w.half(shnum);
    w.half(if spec.section_table { shnum - 1 } else { 0 });

    // One PT_LOAD, read + write, mapping the file from offset 0 to the end of the payload.
    let flags_rw = 0x4 | 0x2;
    w.word(1);
    if spec.is_64 {
        w.word(flags_rw);
        w.addr(0);
        w.addr(spec.base);
        w.addr(spec.base);
        w.addr(load_end);
        w.addr(load_end);
        w.addr(0x1000);
    } else {
        w.addr(0);
        w.addr(spec.base);
        w.addr(spec.base);
        w.addr(load_end);
        w.addr(load_end);
        w.word(flags_rw);
        w.addr(0x1000);
    }

    w.pad_to(PAYLOAD_OFFSET);
    w.out.extend_from_slice(spec.payload);
    for (s, off) in spec.sections.iter().zip(&section_offsets) {
        w.pad_to(*off);
        w.out.extend_from_slice(s.data);
    }
    w.pad_to(shstrtab_off);
    w.out.extend_from_slice(&shstrtab);
    if spec.section_table {
        w.pad_to(shoff);
        let header = |w: &mut W, name: u64, ty: u64, flags: u64, addr: u64, off: u64, size: u64| {
            w.word(name);
            w.word(ty);
            w.addr(flags);
            w.addr(addr);
            w.addr(off);
            w.addr(size);
            w.word(0);
            w.word(0);
            w.addr(1);
            w.addr(0);
        };
        header(&mut w, 0, 0, 0, 0, 0, 0);
        for (i, (s, off)) in spec.sections.iter().zip(&section_offsets).enumerate() {
            // SHT_PROGBITS, SHF_ALLOC | SHF_WRITE
            header(
                &mut w,
                name_offsets[i],
                1,
                0x3,
                spec.base + off,
                *off,
                s.data.len() as u64,
            );
        }
        let last = name_offsets[spec.sections.len()];
        header(&mut w, last, 3, 0, 0, shstrtab_off, shstrtab.len() as u64);
    }
    (w.out, section_offsets)
}
