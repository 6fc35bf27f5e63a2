/** The symbols the Bayes check emits; their weights live in policies/symbols.yaml. */
export const BAYES_SYMBOLS: readonly string[] = ['BAYES_SPAM', 'BAYES_HAM'];
