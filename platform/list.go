package platform

// List is one page of a newest-first list. NextCursor, when HasMore, is the
// value to pass as "after" for the next page.
type List[T any] struct {
	Items      []T
	HasMore    bool
	NextCursor string
}

// pageOf trims items fetched with limit+1 to a page.
func pageOf[T any](items []T, limit int, id func(T) string) List[T] {
	l := List[T]{Items: items}
	if len(items) > limit {
		l.Items, l.HasMore = items[:limit], true
		l.NextCursor = id(l.Items[limit-1])
	}
	if l.Items == nil {
		l.Items = []T{}
	}
	return l
}
