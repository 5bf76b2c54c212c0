import { describe, expect, it } from 'vitest';
import { literalTraitKeys } from '../../infra/sdk-schema-keys.js';

const SCHEMAS = `const _hH = "httpHeader";
const _hQ = "httpQuery";
const _q = "say \\"hi\\"";
const _xarp = "x-amz-request-payer";
const n0 = "com.amazonaws.s3";
import { TypeRegistry } from "@smithy/core/schema";
export var Req$ = [3, n0, _hQ,
    0,
    [_hH, _hQ],
    [[0, { [_hH]: _xarp }], [0, { [_hQ]: _hQ, [_q]: 1 }], [0, { [n0]: 1, [other]: 2 }]]
];
`;

describe('literalTraitKeys', () => {
  const { code, replaced } = literalTraitKeys(SCHEMAS);

  it('writes computed keys over module string constants as the literals they stand for', () => {
    expect(code).toContain('[[0, { "httpHeader": _xarp }], [0, { "httpQuery": _hQ, "say \\"hi\\"": 1 }]');
    expect(replaced).toBe(3);
  });

  it('leaves values, arrays, declarations and keys over anything else as they were', () => {
    expect(code).toContain('export var Req$ = [3, n0, _hQ,');
    expect(code).toContain('[_hH, _hQ],');
    expect(code).toContain('const _hH = "httpHeader";');
    // n0 is not a `_` constant; `other` is not declared in the module.
    expect(code).toContain('{ [n0]: 1, [other]: 2 }');
  });

  it('builds the same objects', () => {
    const evaluate = (source: string): unknown =>
      new Function(`const other = "o";\n${source.replace(/^import .*$/m, '').replace('export var', 'var')}\nreturn Req$;`)();
    expect(evaluate(code)).toEqual(evaluate(SCHEMAS));
  });

  it('touches no computed member access, in a conditional or elsewhere, and no __proto__ key', () => {
    const source = 'const _a = "x";\nconst _p = "__proto__";\nexport var f = (c, m) => (c ? m[_a]: 2);\nexport var o = { [_p]: 1 };\n';
    expect(literalTraitKeys(source)).toEqual({ code: source, replaced: 0 });
  });

  it('changes nothing in a module without computed keys', () => {
    const source = 'const _a = "a";\nexport var A$ = [0, _a];\n';
    expect(literalTraitKeys(source)).toEqual({ code: source, replaced: 0 });
  });
});
