export declare function compileTemplate(source: string, name: string, helpers: string[]): string;
export declare function helpersCalled(code: string): string[];
