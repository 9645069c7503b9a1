use super::*;

fn table(s: &str) -> Result<(Layout, Vec<f64>)> {
    read_table(
        std::io::Cursor::new(s.as_bytes().to_vec()),
        b',',
        HeaderMode::Detect,
    )
}

#[test]
fn detects_header_and_spellings() {
    let (l, d) =
        table("\u{feff}pred,target\r\n1, 2\r\n\n\"-inf\",NaN\r\n+Infinity,1e-3\r\n").unwrap();
    assert_eq!(
        l.names.as_deref(),
        Some(&["pred".to_string(), "target".to_string()][..])
    );
    assert_eq!(l.rows, 3);
    assert_eq!(l.column("target").unwrap(), 1);
    assert_eq!(l.column("1").unwrap(), 0);
    assert_eq!(d[2], f64::NEG_INFINITY);
    assert!(d[3].is_nan());
    assert_eq!(d[4], f64::INFINITY);
}

#[test]
fn errors_name_line_and_column() {
    let e = table("1,2\n3,x\n").unwrap_err().to_string();
    assert_eq!(e, "line 2, column 2: 'x' is not a number");
    let e = table("1,2\n\n3,\n").unwrap_err().to_string();
    assert_eq!(e, "line 3, column 2: empty field");
    let e = table("1,2\n3\n").unwrap_err().to_string();
    assert_eq!(
        e,
        "line 2, column 2: missing field (this row has 1, the first row 2)"
    );
    let e = table("1,2\n3,4,5\n").unwrap_err().to_string();
    assert_eq!(
        e,
        "line 2, column 3: extra field (this row has 3, the first row 2)"
    );
    let e = table("1,2\n\"3,4\n").unwrap_err().to_string();
    assert!(e.starts_with("line 2") && e.contains("quote"), "{e}");
    assert!(
        table("a,b\n")
            .unwrap_err()
            .to_string()
            .contains("only a header")
    );
    assert!(table("").unwrap_err().to_string().contains("empty"));
    assert!(table("\n \n").unwrap_err().to_string().contains("empty"));
}

#[test]
fn unknown_key_lists_columns() {
    let (l, _) = table("a,b\n1,2\n").unwrap();
    assert!(l.column("c").unwrap_err().to_string().contains("a, b"));
}

#[test]
fn fast_path_agrees_with_the_general_parser() {
    let cases = [
        "0.1",
        "-0.0",
        "123456789012345",
        "0.000000000000001",
        "9.99999999999999",
        ".5",
        "5.",
        "-7.25",
    ];
    for c in cases {
        let (x, n) = plain_decimal(c.as_bytes()).unwrap();
        assert_eq!(
            (x.to_bits(), n),
            (c.parse::<f64>().unwrap().to_bits(), c.len()),
            "{c}"
        );
    }
    for c in ["1234567890123456", "1e5", "-", ".", "+1", "inf"] {
        assert!(plain_decimal(c.as_bytes()).is_none(), "{c}");
    }
    let mut x = 0x2545F4914F6CDD1Du64;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let s = format!(
            "{}.{:0w$}",
            x % 100_000,
            x % 1_000_000_000,
            w = (x % 10) as usize
        );
        if let Some((v, _)) = plain_decimal(s.as_bytes()) {
            assert_eq!(v.to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}");
        }
    }
}

#[test]
fn hex_and_underscores_are_not_numbers() {
    for s in ["0x10", "1_000", "", " ", "1e", "--1", "\""] {
        assert_eq!(parse_number(s), None, "{s}");
    }
    assert_eq!(parse_number(" 2.5 "), Some(2.5));
    assert_eq!(parse_number(" \" 2.5\" "), Some(2.5));
}

#[test]
fn many_blocks_and_pieces_keep_order_and_lines() {
    let mut s = String::from("x,y\n");
    for i in 0..300_000 {
        s.push_str(&format!("{i},{}\n", i * 2));
    }
    s.push_str("1,oops\n");
    let e = table(&s).unwrap_err().to_string();
    assert!(e.starts_with("line 300002, column 2"), "{e}");
    s.truncate(s.len() - "1,oops\n".len());
    let (l, d) = table(&s).unwrap();
    assert_eq!(l.rows, 300_000);
    assert!(
        d.chunks(2)
            .enumerate()
            .all(|(i, r)| r[0] == i as f64 && r[1] == 2.0 * i as f64)
    );
}
