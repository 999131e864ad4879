import { codeOnly } from './rust-source';

describe('codeOnly', () => {
  it('drops line and nested block comments', () => {
    expect(codeOnly('a // #[x]\nb /* c /* d */ e */ f')).toBe('a \nb   f');
  });

  it('empties string, raw string, byte string and char literals', () => {
    expect(codeOnly('let s = "/* not a comment"; x')).toBe('let s = ""; x');
    expect(codeOnly('r#"a "quoted" b"# + br"c" + b"d\\"e"')).toBe('"" + b"" + b""');
    expect(codeOnly("let c = '\"'; let q = '\\''; y")).toBe("let c = ''; let q = ''; y");
  });

  it('leaves lifetimes and raw identifiers as code', () => {
    expect(codeOnly("fn f<'a>(x: &'a str) -> &'static str { r#type }")).toBe("fn f<'a>(x: &'a str) -> &'static str { r#type }");
  });

  it('keeps an attribute that is code', () => {
    expect(codeOnly('/* doc */\n#[ignite::main]\nasync fn handler() {}')).toBe(' \n#[ignite::main]\nasync fn handler() {}');
  });
});
