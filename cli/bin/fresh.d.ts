/** Types of fresh.js (plain JavaScript: the launcher runs it before tsx). */
export declare const BUNDLE: string;
export declare const MANIFEST: string;
export declare function staleReason(root: string, bundle?: string, manifest?: string): string | null;
export declare function entryFor(root: string, env?: Record<string, string | undefined>): 'bundle' | 'source';
